"""The records stages hand back add up field by field."""

from __future__ import annotations

import msgspec

from asyncmig.results import Counts


def test_counts_add_every_field() -> None:
    fields = msgspec.structs.fields(Counts)
    one = Counts(*range(1, len(fields) + 1))
    other = Counts(*range(10, 10 + len(fields)))
    total = msgspec.structs.astuple(one + other)
    assert total == tuple(a + b for a, b in zip(range(1, 9), range(10, 18), strict=True))
    assert len(fields) == 8, "a new field must be added in Counts.__add__ too"
    assert (one + Counts()) == one
