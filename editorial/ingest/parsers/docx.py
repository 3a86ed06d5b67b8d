"""Word .docx files with python-docx: headings become Markdown headings, lists and tables become text."""

from __future__ import annotations

import io
import re
import zipfile

from editorial.ingest.errors import SourceRejected
from editorial.ingest.parsers.base import ParsedDocument, Section
from editorial.ingest.parsers.limits import ParseLimits

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _style(paragraph) -> str:
    return ((paragraph.style.name if paragraph.style is not None else "") or "").strip()


def _paragraph_markdown(paragraph, shift: int) -> str:
    text = paragraph.text.strip()
    if not text:
        return ""
    style = _style(paragraph)
    heading = _HEADING_STYLE.match(style)
    if heading:
        return f"{'#' * min(int(heading.group(1)) + shift, 6)} {text}"
    if style.lower() == "title":
        return f"# {text}"
    if style.lower().startswith("list"):
        return f"- {text}"
    return text


def _table_markdown(table) -> str:
    rows = []
    for row in table.rows:
        cells = [cell.text.strip().replace("\n", " ") for cell in row.cells]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _check_unpacked_size(data: bytes, limits: ParseLimits) -> None:
    """Refuse a zip bomb: the sum of the members' declared sizes, and each member as it is really inflated."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            declared = sum(member.file_size for member in members)
            if declared > limits.max_decompressed_bytes or len(members) > 10_000:
                raise SourceRejected(_too_big(declared, limits))
            total = 0
            for member in members:  # declared sizes can lie: count what really comes out
                with archive.open(member) as handle:
                    while block := handle.read(1 << 20):
                        total += len(block)
                        if total > limits.max_decompressed_bytes:
                            raise SourceRejected(_too_big(total, limits))
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise SourceRejected(
            f"The Word document is damaged and cannot be read ({type(exc).__name__}); save it again."
        ) from exc


def _too_big(size: int, limits: ParseLimits) -> str:
    return (
        f"The Word document unpacks to more than {limits.max_decompressed_bytes / 1048576:.0f} MB "
        f"({size / 1048576:.0f} MB or more); split it into smaller documents."
    )


def parse_docx(data: bytes, limits: ParseLimits | None = None) -> ParsedDocument:
    """Parse a Word document."""
    if data.startswith(_OLE):
        raise SourceRejected(
            "The file is an old-format or password-protected Word document; save it as .docx without a password."
        )
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise SourceRejected("The file has a .docx name but is not a Word document (damaged or renamed).")
    _check_unpacked_size(data, limits or ParseLimits())
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        items = list(document.iter_inner_content())
        # With a Title paragraph (rendered "#"), Heading 1 becomes "##" so the title heads the path.
        shift = int(any(not hasattr(item, "rows") and _style(item).lower() == "title" for item in items))
        blocks = [
            _table_markdown(item) if hasattr(item, "rows") else _paragraph_markdown(item, shift) for item in items
        ]
    except Exception as exc:
        if isinstance(exc, MemoryError) or "memory" in str(exc).lower():  # lxml reports it as a syntax error
            raise MemoryError(str(exc)) from exc
        raise SourceRejected(
            f"The Word document is damaged and cannot be read ({type(exc).__name__}); save it again."
        ) from exc
    text = "\n\n".join(block for block in blocks if block)
    return ParsedDocument(sections=[Section(text)])
