"""An entry's original JSON text on one line, with every secret it holds replaced."""

from __future__ import annotations

import re
from typing import Any, Final

import msgspec

#: The one secret of the data spec: a provider key's API key, in plain text.
SECRET_FIELDS: Final = {"provider_keys": "key"}
REDACTED: Final = "***redacted***"
_REDACTED_JSON: Final = msgspec.Raw(msgspec.json.encode(REDACTED))

# A JSON string (kept byte for byte) or a run of blanks between tokens (dropped).
_TOKENS: Final = re.compile(rb'("(?:[^"\\]|\\.)*")|[ \t\r\n]+')
_members: Final = msgspec.json.Decoder(dict[str, msgspec.Raw])
_encoder: Final = msgspec.json.Encoder()


def original(value: msgspec.Raw | Any, table: str | None) -> bytes:
    """``value`` (an entry's raw text, or a value a reader built) as compact JSON: the text
    as read, blanks between tokens removed, with its secret field redacted."""
    if isinstance(value, msgspec.Raw | bytes | memoryview):
        text = _TOKENS.sub(_keep_strings, bytes(value))
    else:
        text = _encoder.encode(value)
    secret = SECRET_FIELDS.get(table or "")
    return text if secret is None else _without(text, secret)


def _keep_strings(match: re.Match[bytes]) -> bytes:
    return match[1] or b""


def _without(text: bytes, secret: str) -> bytes:
    """``text`` with the ``secret`` member's value replaced, whatever its type. Anything
    that is not an object msgspec can read is redacted whole: a bare string in a file of
    provider keys may well be a key, and text we cannot read we cannot vouch for."""
    try:
        members = _members.decode(text)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return _encoder.encode(REDACTED)
    if secret in members:
        members[secret] = _REDACTED_JSON
    # A repeated member (a dict keeps the last) is dropped here, so it cannot leak either.
    return _encoder.encode(members)
