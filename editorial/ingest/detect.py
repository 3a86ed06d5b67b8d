"""Decide what a file is: its kind from the name, binary data from magic bytes, text encoding by detection."""

from __future__ import annotations

import codecs
import re
from pathlib import PurePosixPath

from editorial.ingest.errors import SourceRejected

KIND_BY_SUFFIX = {
    ".md": "md",
    ".markdown": "md",
    ".txt": "txt",
    ".text": "txt",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".docx": "docx",
}
"""Supported file name endings and the source kind each maps to."""

KIND_LABELS = {"md": "Markdown", "txt": "Text", "pdf": "PDF", "html": "HTML", "docx": "Word", "paste": "Pasted text"}

_HINTS = {
    ".doc": "old Word .doc files are not supported; save it as .docx",
    ".rtf": "save it as .docx or plain text",
    ".odt": "save it as .docx",
    ".pages": "export it as .docx or PDF",
    ".xlsx": "spreadsheets are not supported",
    ".pptx": "export the slides as PDF",
}

_MAGIC = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive or Office document"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"\x7fELF", "a program"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-format Office document"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"RIFF", "audio or video data"),
)

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

SUPPORTED_TEXT = "Markdown, text, PDF, HTML or Word (.docx)"


def kind_for_name(name: str) -> str:
    """The source kind for a file name, or raise :class:`SourceRejected` naming the supported types."""
    suffix = PurePosixPath(name.lower()).suffix
    kind = KIND_BY_SUFFIX.get(suffix)
    if kind is None:
        shown = f"'{suffix}'" if suffix else "without an extension"
        hint = _HINTS.get(suffix)
        detail = f" ({hint})" if hint else ""
        raise SourceRejected(f"Unsupported file type {shown}{detail}; upload {SUPPORTED_TEXT} files.")
    return kind


def binary_signature(data: bytes) -> str | None:
    """A description of a known binary format ``data`` starts with, or None."""
    for magic, label in _MAGIC:
        if data.startswith(magic):
            return label
    return None


_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\ufffd]")


def _looks_binary(text: str) -> bool:
    """More than 2% control characters (other than whitespace) or replacement characters."""
    sample = text[:20000]
    return bool(sample) and len(_CONTROL.findall(sample)) / len(sample) > 0.02


# When several encodings read the bytes equally well, prefer the common ones (cp1250 and cp1252 tie on French).
_PREFERRED = ("cp1252", "latin_1", "iso8859_15", "cp1251", "cp1250", "iso8859_2", "cp932", "gb18030", "big5", "euc_kr")


_WESTERN_LETTERS = frozenset("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝßàáâãäåæçèéêëìíîïñòóôõöøùúûüýÿŒœŠšŽžŸ")
_WESTERN_MARKS = frozenset("‘’‚“”„–—…€«»°£§©®±·¿¡•")
_CENTRAL = frozenset({"cp1250", "iso8859_2", "mac_latin2"})


_CENTRAL_LETTERS = frozenset("ĄĆĘŁŃÓŚŹŻąćęłńóśźżČĎĚŇŘŠŤŮŽčďěňřšťůžŐŰőűĹĽŔĺľŕÁÉÍÚÝÄÖÜáéíúýäöüßÂÎâîĂăŞşŢţ")
_WESTERN_ONLY = ("cp1252", "latin_1", "iso8859_15")


def _plausible(text: str, letters: frozenset[str]) -> bool:
    """Whether every non-ASCII character of ``text`` is one of ``letters`` or typographic punctuation."""
    odd = [c for c in text if ord(c) > 127 and c not in letters and c not in _WESTERN_MARKS]
    return not odd and any(ord(c) > 127 for c in text)


def _western_plausible(text: str) -> bool:
    """Whether every non-ASCII character reads as Western European: accented letters, typographic punctuation."""
    return _plausible(text, _WESTERN_LETTERS)


def _detect_encoding(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data[:2_000_000]))
    try:
        western = data[:2_000_000].decode("cp1252")
    except UnicodeDecodeError:
        western = None
    if western is not None and _western_plausible(western):
        # Short Latin-1 texts tie between many code pages (très -> tr鑚 in cp932, trčs in cp1250); prefer
        # Western unless the detector is confident in a Central European language.
        best = matches[0] if matches else None
        confident_central = (
            best is not None and best.encoding in _CENTRAL and best.coherence >= 0.4 and len(data) >= 200
        )
        if not confident_central:
            return "cp1252"
    elif western is not None:
        # Western code pages read these bytes as stray symbols (ł → ³): Central European text (Polish, Czech …)
        # whose letters all read as letters in cp1250 is cp1250; never fall back on a Western code page.
        try:
            if _plausible(data[:2_000_000].decode("cp1250"), _CENTRAL_LETTERS):
                return "cp1250"
        except UnicodeDecodeError:
            pass
    if not matches:
        return None
    best = matches[0]
    close = [m for m in matches if m.chaos <= best.chaos + 0.02 and m.coherence >= best.coherence - 0.05]
    implausible = () if western is None or _western_plausible(western) else _WESTERN_ONLY
    for preferred in (e for e in _PREFERRED if e not in implausible):
        if any(preferred in m.could_be_from_charset for m in close):
            return preferred
    return best.encoding


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode text bytes, detecting the encoding; return ``(text, encoding)``.

    Raises:
        SourceRejected: the bytes are binary data, or in no encoding that can be recognised.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding.replace("-sig", "")
            except UnicodeDecodeError:
                break
    label = binary_signature(data)
    if label:
        raise SourceRejected(f"The file holds binary data ({label}), not text.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        if _looks_binary(text):
            raise SourceRejected("The file holds binary data, not text.")
        return text, "utf-8"
    encoding = _detect_encoding(data)
    if encoding is None:
        raise SourceRejected("The file holds binary data or text in an unknown encoding; save it as UTF-8.")
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SourceRejected(f"The file looks like {encoding} text but does not decode; save it as UTF-8.") from exc
    if _looks_binary(text):
        raise SourceRejected("The file holds binary data, not text.")
    return text, encoding
