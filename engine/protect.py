"""Personal data at rest: AES-256-GCM sealing of the values configuration names as personal.

Sealing happens at the persistence boundary, in the column types below: a value is sealed
as it is written and opened as it is read, so the workflow, its scripts and connectors, and
the engine's read API only ever see clear values, while the database only holds
``{"$enc": "v1", "kid": …, "nonce": …, "ct": …}``. Audit events get masked values instead.

Stored data stays data: a caller's dict with a ``$enc`` key (or ``$$enc``…) is written with
one more ``$`` and read back with one less, so only a value sealed here carries ``$enc``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase, translate
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .config import Settings

log = logging.getLogger(__name__)

VERSION = "v1"
MARK = "$enc"
DEV_KID = "dev"
_URLSAFE = str.maketrans("-_", "+/")
_STATE_MARK = b'"$enc"'
_ESCAPE_NEEDLE = b'$enc"'  # in a serialized state: "$enc" and every escaped "$$…enc"
# a stored file's first bytes: sealed, or clear (no key configured); older rows have neither
_FILE_SEALED, _FILE_CLEAR = b"\x00BFSEAL1", b"\x00BFCLR1"
_GENERATE = ("python -c \"import base64, os; "
             "print('k1:' + base64.b64encode(os.urandom(32)).decode())\"")


class ProtectionError(RuntimeError):
    """Keys are missing, wrong or malformed, or a sealed value was tampered with.

    A fault of the deployment, not of the caller: deliberately not an ``EngineError``
    (which the API answers with a 4xx), so it surfaces as a logged server error.
    """


class Protector:
    """Seals and opens the values whose key is a personal name; the first key encrypts."""

    def __init__(self, keys: Iterable[tuple[str, bytes]], names: Iterable[str]) -> None:
        self._keys: dict[str, AESGCM] = {}
        self.kid: str | None = None
        for kid, key in keys:
            if len(key) != 32:
                raise ProtectionError(f"encryption key '{kid}' must be 32 bytes (AES-256), "
                                      f"not {len(key)}")
            self._keys[kid] = AESGCM(key)
            self.kid = self.kid or kid
        self.names = PersonalNames(names)

    @classmethod
    def from_settings(cls, settings: Settings) -> Protector:
        """Keys and names from settings; outside development a missing key refuses to start."""
        names = parse_names(settings.personal_variables)
        keys = parse_keys(settings.encryption_keys)
        if not keys and names:
            if settings.environment != "development":
                raise ProtectionError(
                    "BRIDGEFLOW_ENCRYPTION_KEYS is not set, so personal data cannot be stored; "
                    f"set it to 'kid:base64-key' (make one with: {_GENERATE})")
            _warn_dev_key()
            keys = [(DEV_KID, hashlib.sha256(b"bridgeflow-dev-encryption-key:"
                                             + settings.secret_key.encode()).digest())]
        return cls(keys, names)

    # -- single values ------------------------------------------------------------------

    def seal(self, value: Any) -> dict[str, str]:
        """Encrypt one JSON value with the first key."""
        if self.kid is None:
            raise ProtectionError("no encryption key is configured (BRIDGEFLOW_ENCRYPTION_KEYS)")
        nonce = os.urandom(12)
        plain = json.dumps(value, separators=(",", ":")).encode()
        ct = self._keys[self.kid].encrypt(nonce, plain, _aad(self.kid))
        return {MARK: VERSION, "kid": self.kid, "nonce": _b64(nonce), "ct": _b64(ct)}

    def open(self, sealed: dict[str, Any]) -> Any:
        """Decrypt what ``seal`` made; refuse an unknown key, a changed value, a bad format."""
        kid = sealed.get("kid")
        if sealed.get(MARK) != VERSION:
            raise ProtectionError(f"unknown sealed-value format {sealed.get(MARK)!r}")
        aes = self._keys.get(kid) if isinstance(kid, str) else None
        if aes is None or not isinstance(kid, str):
            known = ", ".join(self._keys) or "none"
            raise ProtectionError(f"a value is sealed with encryption key '{kid}', which is not "
                                  f"configured (configured: {known}); add it to "
                                  "BRIDGEFLOW_ENCRYPTION_KEYS")
        try:
            plain = aes.decrypt(_unb64(sealed["nonce"]), _unb64(sealed["ct"]), _aad(kid))
        except (InvalidTag, KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise ProtectionError(f"a value sealed with key '{kid}' does not decrypt: it was "
                                  "changed, or the key is wrong") from exc
        return json.loads(plain)

    # -- walking data ---------------------------------------------------------------------

    def seal_variables(self, data: Any) -> Any:
        """Seal, at any depth, the values whose key is a personal name (copies what changes)."""
        if not self.names:
            return data
        return _walk_seal(data, self.names, self.seal)

    def open_variables(self, data: Any) -> Any:
        """Open every sealed value at any depth (copies what changes)."""
        return _walk_open(data, self.open)

    def seal_state(self, blob: bytes) -> bytes:
        """Seal the personal values in a serialized workflow state; parse only if named."""
        if not self.names or not self.names.may_occur_in(blob):
            return blob
        return _dumps(self.seal_variables(json.loads(blob)))

    def open_state(self, blob: bytes) -> bytes:
        """Open the sealed values of a serialized workflow state; parse only if there are some."""
        if _STATE_MARK not in blob:
            return blob
        return _dumps(self.open_variables(json.loads(blob)))

    def seal_bytes(self, blob: bytes) -> bytes:
        """Encrypt a whole file with the first key (``open_bytes`` reverses it)."""
        if self.kid is None:
            raise ProtectionError("no encryption key is configured (BRIDGEFLOW_ENCRYPTION_KEYS)")
        nonce, kid = os.urandom(12), self.kid.encode()
        ct = self._keys[self.kid].encrypt(nonce, blob, _aad(self.kid) + b":file")
        return _FILE_SEALED + bytes([len(kid)]) + kid + nonce + ct

    def open_bytes(self, blob: bytes) -> bytes:
        """Decrypt what ``seal_bytes`` made; refuse an unknown key or a changed file."""
        body = blob[len(_FILE_SEALED):]
        size = body[0] if body else 0
        kid = body[1:1 + size].decode(errors="replace")
        aes = self._keys.get(kid)
        if aes is None:
            known = ", ".join(self._keys) or "none"
            raise ProtectionError(f"a file is sealed with encryption key '{kid}', which is not "
                                  f"configured (configured: {known}); add it to "
                                  "BRIDGEFLOW_ENCRYPTION_KEYS")
        nonce, ct = body[1 + size:13 + size], body[13 + size:]
        try:
            return aes.decrypt(nonce, ct, _aad(kid) + b":file")
        except (InvalidTag, ValueError) as exc:
            raise ProtectionError(f"a file sealed with key '{kid}' does not decrypt: it was "
                                  "changed, or the key is wrong") from exc

    def mask_variables(self, data: Any) -> Any:
        """Mask, at any depth, the values whose key is a personal name (for events, pages)."""
        if not self.names:
            return data
        return _walk_seal(data, self.names, mask)

    def personal_values(self, data: Any) -> list[str]:
        """The text of every value under a personal name in ``data``, at any depth (the
        strings and numbers inside a personal object or list too), to ``redact`` them."""
        found: list[str] = []
        if self.names:
            _walk_seal(data, self.names, lambda value: _collect_text(value, found))
        return found


REDACTED_MIN = 4  # shorter personal values are not looked for in free text: too common


def redact(text: str, values: Iterable[str]) -> str:
    """``text`` with each of ``values`` masked (``mask``) wherever it appears, in any case:
    free text (an error's message) that quotes a personal value keeps only its mask."""
    for value in sorted({v for v in values if len(v.strip()) >= REDACTED_MIN},
                        key=len, reverse=True):
        shown = str(mask(value)).replace("\\", "\\\\")  # a replacement reads backslashes
        text = re.sub(re.escape(value), shown, text, flags=re.IGNORECASE)
    return text


def _collect_text(value: Any, found: list[str]) -> Any:
    """Add the text of every string and number in ``value`` to ``found``; ``value`` as is."""
    if isinstance(value, dict):
        for item in value.values():
            _collect_text(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect_text(item, found)
    elif isinstance(value, str):
        found.append(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        found.append(str(value))
    return value


def parse_names(raw: str) -> list[str]:
    return [n.strip() for n in raw.split(",") if n.strip()]


def parse_keys(raw: str) -> list[tuple[str, bytes]]:
    """Read ``kid1:base64key,kid2:base64key``; say which entry is wrong and why."""
    keys: list[tuple[str, bytes]] = []
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        kid, sep, encoded = entry.partition(":")
        kid = kid.strip()
        if not sep or not kid:
            raise ProtectionError("BRIDGEFLOW_ENCRYPTION_KEYS entries are 'kid:base64-key'; "
                                  f"one entry has no key id (make one with: {_GENERATE})")
        encoded = encoded.strip().translate(_URLSAFE)  # standard or URL-safe alphabet
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ProtectionError(f"encryption key '{kid}' is not valid base64") from exc
        if len(key) != 32:
            raise ProtectionError(f"encryption key '{kid}' must be 32 bytes (AES-256) encoded "
                                  f"in base64, not {len(key)} bytes")
        if any(kid == k for k, _ in keys):
            raise ProtectionError(f"encryption key id '{kid}' is given twice")
        keys.append((kid, key))
    return keys


def mask(value: Any) -> Any:
    """Show a personal value without giving it away: ``f•••@example.com``, ``+49 •••• 67``."""
    if value is None or value == "":
        return value
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    if not isinstance(value, str):
        return "•••"
    text = value.strip()
    local, at, domain = text.rpartition("@")
    if at and local and domain:
        return f"{local[0]}•••@{domain}"
    digits = [c for c in text if c.isdigit()]
    if len(digits) >= 6 and all(c.isdigit() or c in " +-()/." for c in text):
        head = ("+" if text.startswith("+") else "") + "".join(digits[:2])
        return f"{head} •••• {''.join(digits[-2:])}"
    return f"{text[0]}•••" if len(text) > 3 else "•••"


class PersonalNames:
    """Which values are personal: by key name or dotted path, case-insensitive, with ``*``.

    ``email`` matches a key named email (or Email); ``*email*`` any key containing it
    (customerEmail, email_address); ``customer.phone`` a ``phone`` key inside a ``customer``
    object, at any depth (lists are looked through).
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(p.strip().lower() for p in patterns if p.strip())
        self._names = tuple(p for p in self.patterns if "." not in p)
        self._paths = tuple(tuple(p.split(".")) for p in self.patterns if "." in p)
        # every save walks every key: the name patterns as one regex, each key judged once
        self._name_re = (re.compile("|".join(translate(p) for p in self._names))
                         if self._names else None)
        self._named = functools.lru_cache(maxsize=4096)(self._name_matches)
        # Before parsing a serialized state: could any key match? A key a pattern matches
        # holds the pattern's longest literal run, which JSON writes as it is; a pattern
        # with no such run (``*``, a ``[…]`` class) or with a character JSON escapes
        # (not ASCII, a quote, a backslash, a control character) turns the check off.
        fragments = [max(re.split(r"[*?]", p.rsplit(".", 1)[-1]), key=len)
                     for p in self.patterns]
        self._needles = (None if any(not _json_literal(f) for f in fragments)
                         else tuple(f.encode() for f in fragments))

    def __bool__(self) -> bool:
        return bool(self.patterns)

    @property
    def by_name_only(self) -> bool:
        """Whether every pattern is a plain name (no ``a.b`` path): a key alone decides."""
        return not self._paths

    def named(self, key: str) -> bool:
        """Whether a key matches one of the plain name patterns."""
        return bool(self._named(key))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.matches((key,))

    def _name_matches(self, key: str) -> bool:
        return self._name_re is not None and self._name_re.match(key.lower()) is not None

    def matches(self, path: tuple[str, ...]) -> bool:
        """Whether the value at ``path`` (its keys from the top) is personal."""
        if self._named(path[-1]):
            return True
        if not self._paths:
            return False
        lowered = [k.lower() for k in path]
        return any(len(p) <= len(lowered)
                   and all(fnmatchcase(k, s) for k, s in zip(lowered[-len(p):], p, strict=True))
                   for p in self._paths)

    def may_occur_in(self, blob: bytes) -> bool:
        """Whether a key of ``blob`` (JSON as ``json.dumps`` writes it) may match; False
        only when none can. A ``\\u`` escape anywhere means yes: an escaped character may
        lower to a pattern's letter (the Kelvin sign to ``k``) without the run in the text."""
        if self._needles is None or b"\\u" in blob:
            return True
        lowered = blob.lower()
        return any(n in lowered for n in self._needles)


def _json_literal(fragment: str) -> bool:
    """Whether ``fragment`` is a non-empty literal that JSON writes unchanged."""
    return (bool(fragment) and fragment.isascii() and "[" not in fragment
            and "]" not in fragment and not any(c in '"\\' or c < " " for c in fragment))


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and value.get(MARK) == VERSION and "ct" in value


def _is_mark(key: Any) -> bool:
    return isinstance(key, str) and key.endswith(MARK) and key.strip("$") == MARK[1:]


def escape_marks(data: Any) -> Any:
    """Give every ``$enc``-like key of caller data one more ``$`` (copies what changes)."""
    if isinstance(data, dict):
        # the usual case, nothing to escape, is found without building a copy
        for key, value in data.items():
            if _is_mark(key) or (isinstance(value, _CONTAINERS)
                                 and escape_marks(value) is not value):
                return {("$" + k if _is_mark(k) else k): escape_marks(v)
                        for k, v in data.items()}
        return data
    if isinstance(data, list):
        return _walk_list(data, escape_marks)
    return data


_CONTAINERS = (dict, list)


def _walk_list(data: list[Any], walk: Callable[[Any], Any]) -> list[Any]:
    """``data`` with ``walk`` applied to its dicts and lists; itself if none changed."""
    items: list[Any] | None = None
    for i, value in enumerate(data):
        if isinstance(value, _CONTAINERS):
            new = walk(value)
            if new is not value:
                if items is None:
                    items = list(data)
                items[i] = new
    return data if items is None else items


def _walk_seal(data: Any, names: PersonalNames, fn: Callable[[Any], Any],
               path: tuple[str, ...] = ()) -> Any:
    if isinstance(data, dict):
        out: dict[Any, Any] | None = None
        # only plain names: a key alone decides, no path is needed (the common case, cheap)
        named = names._named if names.by_name_only else None
        for key, value in data.items():
            if named is not None:
                here = path
                personal = named(key if type(key) is str else str(key))
            else:
                here = (*path, str(key))
                personal = names.matches(here)
            if personal:
                new = value if value is None or is_sealed(value) else fn(value)
            elif isinstance(value, _CONTAINERS):
                new = _walk_seal(value, names, fn, here)
            else:
                continue
            if new is not value:
                out = out if out is not None else dict(data)
                out[key] = new
        return data if out is None else out
    if isinstance(data, list):
        return _walk_list(data, lambda value: _walk_seal(value, names, fn, path))
    return data


def _walk_open(data: Any, fn: Callable[[dict[str, Any]], Any]) -> Any:
    """Open sealed values and take the escaping ``$`` off caller keys (see ``escape_marks``)."""
    if isinstance(data, dict):
        if is_sealed(data):
            return _walk_open(fn(data), fn)
        if any(_is_mark(k) for k in data):
            return {(k[1:] if _is_mark(k) else k): _walk_open(v, fn) for k, v in data.items()}
        out: dict[Any, Any] | None = None
        for key, value in data.items():
            if isinstance(value, dict | list):
                new = _walk_open(value, fn)
                if new is not value:
                    out = out if out is not None else dict(data)
                    out[key] = new
        return data if out is None else out
    if isinstance(data, list):
        items = [_walk_open(v, fn) if isinstance(v, dict | list) else v for v in data]
        return data if all(a is b for a, b in zip(items, data, strict=True)) else items
    return data


def _aad(kid: str) -> bytes:
    return f"bridgeflow:{VERSION}:{kid}".encode()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


_warned = False


def _warn_dev_key() -> None:
    global _warned
    if not _warned:
        _warned = True
        log.warning("PERSONAL DATA IS SEALED WITH A DEVELOPMENT KEY derived from the secret "
                    "key; set BRIDGEFLOW_ENCRYPTION_KEYS before storing real data "
                    "(make one with: %s)", _GENERATE)
