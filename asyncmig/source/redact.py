"""An entry's original JSON text on one line, with every secret it holds replaced."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

import msgspec

if TYPE_CHECKING:
    from collections.abc import Callable

REDACTED: Final = "***redacted***"
_REDACTED_JSON: Final = msgspec.Raw(msgspec.json.encode(REDACTED))

#: A provider key's fields known to hold no secret: the ones :class:`ProviderKey` declares
#: but ``key`` (the API key) and ``description`` (free text: people paste notes, and keys,
#: into it). Every other member is redacted, so a key stored under another name
#: (``apiKey``, ``secret``, ``token``, a typo) is never shown; these stay because support
#: needs them to tell which record it is and why it was refused.
PROVIDER_KEY_HARMLESS: Final = frozenset(
    {
        "id",
        "name",
        "provider",
        "environment",
        "isDefault",
        "isActive",
        "created",
        "updated",
        "expiresAt",
        "lastUsed",
    }
)

# A JSON string (kept byte for byte) or a run of blanks between tokens (dropped).
_TOKENS: Final = re.compile(rb'("(?:[^"\\]|\\.)*")|[ \t\r\n]+')
_members: Final = msgspec.json.Decoder(dict[str, msgspec.Raw])
_items: Final = msgspec.json.Decoder(list[msgspec.Raw])
_encoder: Final = msgspec.json.Encoder()


def original(value: msgspec.Raw | Any, table: str | None) -> bytes:
    """``value`` (an entry's raw text, or a value a reader built) as compact JSON: the text
    as read, blanks between tokens removed, with the secrets it holds redacted."""
    if isinstance(value, msgspec.Raw | bytes | memoryview):
        text = _TOKENS.sub(_keep_strings, bytes(value))
    else:
        text = _encoder.encode(value)
    clean = _CLEANERS.get(table or "")
    return text if clean is None else clean(text)


def _keep_strings(match: re.Match[bytes]) -> bytes:
    return match[1] or b""


def _provider_key(text: bytes) -> bytes:
    """Every member but the harmless ones redacted, and those too when they hold an object
    or an array (none of them is one; a key could hide inside)."""
    return _cleaned(text, _provider_member)


def _provider_member(name: str, value: msgspec.Raw) -> msgspec.Raw:
    harmless = name in PROVIDER_KEY_HARMLESS and bytes(value)[:1] not in (b"{", b"[")
    return value if harmless else _REDACTED_JSON


def _mcp_record(text: bytes) -> bytes:
    """Every value of every ``env``, at any depth (API keys and tokens go there: a server
    config's, and a copy of it in a state or a tool call's input), redacted, its names
    kept; an ``env`` that is not an object is redacted whole."""
    if text[:1] == b"{" and b'"env"' not in text and b"\\u" not in text:
        return text  # an object with no env in it (an escape could spell one)
    return _cleaned(text, _mcp_member)


def _mcp_member(name: str, value: msgspec.Raw) -> msgspec.Raw:
    if name != "env":
        return _without_env(value)
    try:
        env = _members.decode(value)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return _REDACTED_JSON
    return msgspec.Raw(_encoder.encode(dict.fromkeys(env, _REDACTED_JSON)))


def _without_env(value: msgspec.Raw) -> msgspec.Raw:
    """``value`` with every ``env`` inside it redacted; the rest byte for byte."""
    text = bytes(value)
    if text[:1] == b"{":
        members = _members.decode(text)
        return msgspec.Raw(_encoder.encode({n: _mcp_member(n, v) for n, v in members.items()}))
    if text[:1] == b"[":
        return msgspec.Raw(_encoder.encode([_without_env(v) for v in _items.decode(text)]))
    return value


def _cleaned(text: bytes, clean: Callable[[str, msgspec.Raw], msgspec.Raw]) -> bytes:
    """``text`` with each member's value as ``clean`` gives it back. Anything that is not
    an object msgspec can read is redacted whole: a bare string in a file of secrets may
    well be one, and text we cannot read we cannot vouch for."""
    try:
        members = _members.decode(text)
        # A repeated member (a dict keeps the last) is dropped here, so it cannot leak.
        return _encoder.encode({name: clean(name, value) for name, value in members.items()})
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return _encoder.encode(REDACTED)  # too deep to look through (an env may hide there)


#: The tables whose records hold secrets, and how each record's text is cleaned of them.
_CLEANERS: Final[dict[str, Callable[[bytes], bytes]]] = {
    "provider_keys": _provider_key,
    **dict.fromkeys(
        (
            "mcp_server_configs",
            "mcp_server_states",
            "mcp_tools",
            "mcp_resources",
            "mcp_tool_executions",
        ),
        _mcp_record,
    ),
}
#: Tables whose damaged files get no excerpt in the rejects file (see :func:`shows_excerpt`).
SECRET_TABLES: Final = frozenset(_CLEANERS)


def shows_excerpt(table: str | None) -> bool:
    """Whether the raw text around a damaged file's damage may be shown. Not for a table of
    secrets: the excerpt is cut at arbitrary bytes of text that does not parse, so whether a
    string in it is a key (or an ``env`` value) hangs on text outside it or on the damage
    itself; redacting inside it would be a guess. The error still names the byte offset."""
    return table not in SECRET_TABLES
