"""The timestamp rule (spec sections 3 and 6): epoch milliseconds from whatever the
JSON-era servers wrote (seconds, milliseconds, numeric strings, ISO and RFC 2822 dates)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

SECONDS_BELOW: Final = 10_000_000_000
MAX_TS: Final = 2_524_608_000_000  # 2050-01-01T00:00:00Z


_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
#: Ids of v0.5.1/v0.5.2: ``proj_<base36 ms>_<5 chars>`` and the like.
_LEGACY_ID = re.compile(r"[a-z]+_[0-9a-z]{6,}_[0-9a-z]{5}")


class TsError(ValueError):
    """A value that the timestamp rule cannot turn into epoch milliseconds."""


def normalise_ts(value: object) -> int | None:
    """Return ``value`` as whole epoch milliseconds, or ``None`` for null; raise TsError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TsError(f"expected a number or a date string, got {type_name(value)}")
    if isinstance(value, str):
        text = value.strip()
        if _DECIMAL.fullmatch(text):
            try:
                number: int | float = int(text) if _INTEGER.fullmatch(text) else float(text)
            except ValueError:  # more digits than int() accepts: far past 2050 anyway
                raise TsError(f"{text[:30]!r}... is outside 1970-01-01 .. 2050-01-01") from None
        elif _LEGACY_ID.fullmatch(text):
            raise TsError(
                f"{text!r} is a v0.5.1/v0.5.2 string id; there is no safe mapping to the "
                "numeric ids of v0.6.0"
            )
        else:
            return _check_range(_parse_date(value), value)
    else:
        number = value
    if number < SECONDS_BELOW:
        number = number * 1000
    return _check_range(number, value)


def _check_range(number: int | float, original: object) -> int:
    if isinstance(number, float):
        if not number.is_integer():
            raise TsError(f"{original!r} is not a whole number of milliseconds")
        number = int(number)
    if not 0 <= number <= MAX_TS:
        raise TsError(f"{original!r} is outside 1970-01-01 .. 2050-01-01")
    return number


def _parse_date(text: str) -> int:
    stripped = text.strip()
    if not stripped:
        raise TsError("empty string is not a timestamp")
    try:
        parsed = datetime.fromisoformat(stripped)
    except ValueError:
        # Imported on first use: email.utils (and socket) are 8 ms of every process's
        # start, parsers included, for a form the data rarely holds.
        from email.utils import parsedate_to_datetime  # noqa: PLC0415

        try:
            parsed = parsedate_to_datetime(stripped)  # RFC 2822, as Date.parse also reads
        except (TypeError, ValueError, IndexError):
            raise TsError(f"{text!r} is not a number or a date") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // _ONE_MS


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS: Final = datetime(1970, 1, 1, 0, 0, 0, 1000, tzinfo=UTC) - _EPOCH


def type_name(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__
