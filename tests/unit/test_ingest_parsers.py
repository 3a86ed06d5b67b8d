"""Each parser on real sample files (tests/fixtures/sources) and on crafted bad input."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from editorial.ingest.cleaning import clean_markdown, html_to_markdown
from editorial.ingest.detect import binary_signature, decode_text, kind_for_name
from editorial.ingest.errors import SourceRejected
from editorial.ingest.parsers import parse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def text_of(kind: str, data: bytes) -> str:
    return "\n\n".join(section.text for section in parse(kind, data).sections)


# --------------------------------------------------------------------------- kinds
@pytest.mark.parametrize(
    ("name", "kind"),
    [("a.md", "md"), ("A.MARKDOWN", "md"), ("n.txt", "txt"), ("p.PDF", "pdf"), ("x.htm", "html"), ("w.docx", "docx")],
)
def test_kind_comes_from_the_extension(name, kind):
    assert kind_for_name(name) == kind


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("slides.key", "Unsupported file type '.key'; upload Markdown, text, PDF, HTML or Word (.docx) files."),
        ("old.doc", "Unsupported file type '.doc' (old Word .doc files are not supported; save it as .docx)"),
        ("README", "Unsupported file type without an extension"),
    ],
)
def test_unsupported_types_name_what_is_supported(name, expected):
    with pytest.raises(SourceRejected) as rejected:
        kind_for_name(name)
    assert str(rejected.value).startswith(expected)


# --------------------------------------------------------------------------- Markdown
def test_markdown_with_html_and_badges_keeps_text_and_headings_only():
    text = text_of("md", fixture("tidewater.md"))
    assert text.startswith("# Tidewater\n")
    for gone in ("img.shields.io", "<img", "<p", "<details>", "This comment", "console.log", "logo.png", "[!["):
        assert gone not in text
    assert "## Consumer groups" in text and "## Retention" in text
    assert "Why not Kafka?" in text and "needs no ZooKeeper" in text  # text inside <details> survives
    assert "```bash\npip install tidewater\n# the broker listens on port 7411 by default" in text  # code verbatim


def test_markdown_cleaning_keeps_html_inside_code_and_converts_setext_headings():
    source = (
        "Title\n=====\n\nUse `<div>` here.\n\n```html\n<div>kept</div>\n```\n\nSub\n---\n\n[docs](https://x.y/z) text"
    )
    cleaned = clean_markdown(source)
    assert cleaned.splitlines()[0] == "# Title"
    assert "`<div>`" in cleaned and "<div>kept</div>" in cleaned
    assert "## Sub" in cleaned and "docs text" in cleaned and "https://" not in cleaned


def test_markdown_front_matter_is_dropped():
    assert clean_markdown("---\ntitle: x\ntags: [a]\n---\n# Real\n\nBody") == "# Real\n\nBody"


# --------------------------------------------------------------------------- HTML
def test_html_page_keeps_the_article_and_drops_boilerplate():
    text = text_of("html", fixture("borrow-checker.html"))
    assert text.startswith("# Understanding the borrow checker")
    for gone in ("Home", "Subscribe", "cookies", "Accept", "Related posts", "Copyright", "analytics", "font-family"):
        assert gone not in text
    assert "## Lifetimes" in text and "## Interior mutability" in text
    assert "fn longest<'a>(x: &'a str, y: &'a str) -> &'a str {\n    if x.len()" in text  # code keeps its indentation
    assert "- RefCell: single thread" in text


def test_html_without_main_uses_body_and_title():
    text = html_to_markdown("<html><head><title>Only title</title></head><body><p>Hello <b>world</b></p></body></html>")
    assert text == "# Only title\n\nHello world"


def test_html_in_declared_legacy_encoding():
    page = '<html><head><meta charset="iso-8859-1"></head><body><p>Caf\xe9 cr\xe8me</p></body></html>'
    parsed = parse("html", page.encode("latin-1"))
    assert "Café crème" in parsed.sections[0].text
    assert parsed.notes == ["decoded as iso-8859-1"]


def test_html_name_without_markup_is_rejected():
    with pytest.raises(SourceRejected, match="holds no HTML markup"):
        parse("html", b"just some words")


# --------------------------------------------------------------------------- PDF
def test_pdf_gives_one_section_per_page():
    parsed = parse("pdf", fixture("espresso-handbook.pdf"))
    assert parsed.page_count == 3
    assert [s.location for s in parsed.sections] == ["page 1", "page 2", "page 3"]
    assert "Descale every three months" in parsed.sections[0].text
    assert "Backflush the group head daily" in parsed.sections[1].text


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("encrypted.pdf", "The PDF is password-protected; remove the password and upload it again."),
        ("truncated.pdf", "The PDF is damaged or truncated (it has no end-of-file marker); export it again."),
        ("garbage.pdf", "The PDF is damaged and cannot be read (PdfReadError); export it again."),
        ("scanned.pdf", "The PDF has no text layer (1 page(s) of images, e.g. a scan); run OCR on it first."),
    ],
)
def test_bad_pdfs_are_rejected_with_a_clear_message(name, message):
    with pytest.raises(SourceRejected) as rejected:
        parse("pdf", fixture(name))
    assert str(rejected.value) == message


def test_pdf_name_on_other_bytes_is_rejected():
    with pytest.raises(SourceRejected, match=r"has a .pdf name but is not a PDF"):
        parse("pdf", b"hello there")


def test_pdf_encrypted_with_an_empty_password_is_read():
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(fixture("espresso-handbook.pdf"))))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    parsed = parse("pdf", buffer.getvalue())
    assert "Descale" in parsed.sections[0].text


# --------------------------------------------------------------------------- Word
def test_docx_headings_lists_and_tables():
    text = text_of("docx", fixture("autoscaling-runbook.docx"))
    assert text.startswith("# Kubernetes Autoscaling Runbook\n\n## Horizontal Pod Autoscaler")
    assert "- Keep minReplicas at two" in text
    assert "## Cluster Autoscaler" in text
    assert "Metric | Target\nCPU | 70%" in text


def test_docx_name_on_plain_text_or_old_word_is_rejected():
    with pytest.raises(SourceRejected, match=r"has a .docx name but is not a Word document"):
        parse("docx", fixture("renamed.docx"))
    with pytest.raises(SourceRejected, match="old-format or password-protected Word document"):
        parse("docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)


def test_damaged_docx_zip_is_rejected():
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a word document")
    with pytest.raises(
        SourceRejected, match=r"The Word document is damaged and cannot be read \(\w+\); save it again."
    ):
        parse("docx", buffer.getvalue())


# --------------------------------------------------------------------------- text and encodings
def test_plain_text():
    parsed = parse("txt", fixture("release-checklist.txt"))
    assert parsed.sections[0].markdown is False
    assert parsed.sections[0].text.startswith("Release checklist\n\nBefore tagging a release")


@pytest.mark.parametrize(
    ("text", "encoding", "detected"),
    [
        ("La crème brûlée se cuit au bain-marie, puis on caramélise le sucre.", "cp1252", "cp1252"),
        ("Příliš žluťoučký kůň úpěl ďábelské ódy.", "cp1250", "cp1250"),
        ("Съешь же ещё этих мягких французских булок, да выпей чаю.", "cp1251", "cp1251"),
        ("日本語のテキストです。これはテストです。", "shift_jis", "cp932"),
    ],
)
def test_non_utf8_text_is_detected_and_decoded(text, encoding, detected):
    assert decode_text(text.encode(encoding)) == (text, detected)


def test_fixture_in_cp1252_is_decoded_with_a_note():
    parsed = parse("txt", fixture("cuisine-cp1252.txt"))
    assert "La crème brûlée" in parsed.sections[0].text
    assert parsed.notes == ["decoded as cp1252"]


@pytest.mark.parametrize("bom", [codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE])
def test_byte_order_marks(bom):
    encoding = {codecs.BOM_UTF8: "utf-8", codecs.BOM_UTF16_LE: "utf-16-le", codecs.BOM_UTF16_BE: "utf-16-be"}[bom]
    text, _ = decode_text(bom + "naïve café".encode(encoding))
    assert text == "naïve café"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (fixture("image.txt"), r"The file holds binary data \(a PNG image\), not text."),
        (b"\x7fELF\x02\x01\x01" + bytes(200), r"The file holds binary data \(a program\), not text."),
        (bytes(range(256)) * 20, r"The file holds binary data"),
        (b"abc\x00\x01\x02\x03\x04\x05def" * 50, r"The file holds binary data"),
    ],
)
def test_binary_data_under_a_text_name_is_rejected(data, message):
    with pytest.raises(SourceRejected, match=message):
        parse("txt", data)
    with pytest.raises(SourceRejected, match=message):
        parse("md", data)


def test_binary_signatures():
    assert binary_signature(b"%PDF-1.7 ...") == "a PDF document"
    assert binary_signature(b"PK\x03\x04rest") == "a ZIP archive or Office document"
    assert binary_signature(b"plain") is None
