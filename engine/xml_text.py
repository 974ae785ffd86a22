"""Deployed XML files as the parsers take them: UTF-8 (from the encoding their BOM or XML
declaration names), and without a DTD (whose entities the parsers do not expand)."""

from __future__ import annotations

import codecs
import re

# The BOMs XML 1.0 (appendix F) recognises, longest first; UTF-32 ones before UTF-16.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
# "<?" without a BOM, in a 16-bit encoding
_BARE_UTF16 = ((b"<\x00?\x00", "utf-16-le"), (b"\x00<\x00?", "utf-16-be"))
# a DOCTYPE in the prolog: after the declaration, comments and processing instructions
_DOCTYPE = re.compile(rb"\A(?:\s+|<\?.*?\?>|<!--.*?-->)*<!DOCTYPE", re.S)
_DECLARED = re.compile(r"""^(\s*<\?xml[^>]*?\bencoding\s*=\s*)(["'])([A-Za-z][\w.:-]*)\2""")


class XmlFileError(ValueError):
    """The file's bytes are not in the encoding it declares, or it carries a DTD."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def as_utf8(content: bytes) -> bytes:
    """Return ``content`` as UTF-8 with its declaration saying so; UTF-8 input as it is.

    The encoding is the BOM's, else the XML declaration's, else UTF-8 (the XML default).
    ``XmlFileError`` says what is wrong when the bytes cannot be decoded.
    """
    codec = next((name for bom, name in _BOMS if content.startswith(bom)), None)
    codec = codec or next((name for head, name in _BARE_UTF16 if content.startswith(head)),
                          None)
    if codec is None:
        head = content[:200].decode("ascii", errors="replace")
        match = _DECLARED.match(head)
        codec = match.group(3) if match else "utf-8"
    try:
        info = codecs.lookup(codec)
    except LookupError as exc:
        raise XmlFileError(f"the XML declaration names an unknown encoding '{codec}'; "
                               "save the file as UTF-8") from exc
    if info.name == "utf-8" and not content.startswith(codecs.BOM_UTF8):
        try:
            content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise XmlFileError(*_undecodable(content, exc, "UTF-8")) from exc
        return content
    try:
        text = content.decode(codec)
    except UnicodeDecodeError as exc:
        raise XmlFileError(*_undecodable(content, exc, codec)) from exc
    text = _DECLARED.sub(lambda m: f"{m.group(1)}{m.group(2)}UTF-8{m.group(2)}", text, count=1)
    return text.encode("utf-8")


def _undecodable(content: bytes, exc: UnicodeDecodeError, codec: str) -> tuple[str, int]:
    line = content[:exc.start].count(b"\n") + 1
    return (f"the file is not valid {codec} (byte {exc.start}); declare its encoding in "
            "the XML declaration, e.g. <?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>, "
            "or save it as UTF-8", line)


def refuse_dtd(content: bytes) -> None:
    """Raise ``XmlFileError`` when a UTF-8 file declares a DTD: BPMN and DMN need none, and
    the parsers keep its entities unexpanded, which would change scripts and conditions."""
    found = _DOCTYPE.match(content)
    if found:
        raise XmlFileError("the file declares a DOCTYPE, which BPMN and DMN files do not use: "
                           "remove it and write the characters themselves (character "
                           "references such as &#233; and &amp; are fine)",
                           content[:found.end()].count(b"\n") + 1)
