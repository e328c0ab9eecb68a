"""Loading every supported format into Documents, and refusing bad input with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.documents import DocumentError, discover, iso_date, load_path
from tests.conftest import SAMPLE

MB = 1_000_000


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_sample_header_is_metadata_not_text() -> None:
    doc = load_path(SAMPLE, 25 * MB).documents[0]
    assert doc.date == "2022-03-07"
    assert doc.text[doc.body_start :].startswith("US and Venezuelan officials")
    assert "date 2022" not in doc.text[doc.body_start :]


def test_html_keeps_readable_text_and_meta_date(tmp_path: Path) -> None:
    page = write(
        tmp_path / "page.html",
        "<html><head><title>Oil talks</title>"
        '<meta property="article:published_time" content="2023-05-01T10:00:00Z">'
        "<style>p{color:red}</style></head><body><h1>Talks</h1>"
        "<script>alert('x')</script><p>Officials met in Caracas.</p></body></html>",
    )
    doc = load_path(page, 25 * MB).documents[0]
    assert doc.title == "Oil talks"
    assert doc.date == "2023-05-01"
    assert "Officials met in Caracas." in doc.text
    assert "alert" not in doc.text and "color" not in doc.text


def test_pdf_text_per_page_with_metadata(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Quarterly report")
    pdf.set_creation_date(__import__("datetime").datetime(2021, 6, 30))
    pdf.set_font("helvetica", size=12)
    for text in ("Revenue rose sharply.", "Costs fell slightly."):
        pdf.add_page()
        pdf.cell(text=text)
    doc = load_path(Path(pdf.output(str(tmp_path / "r.pdf")) or tmp_path / "r.pdf"), MB).documents[
        0
    ]
    assert doc.title == "Quarterly report" and doc.date == "2021-06-30"
    assert doc.pages is not None and len(doc.pages) == 2
    start, end = doc.pages[1]
    assert doc.text[start:end] == "Costs fell slightly."


def test_docx_paragraphs(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Memo"
    document.add_paragraph("First paragraph.")
    document.add_paragraph("Second paragraph.")
    document.save(str(tmp_path / "m.docx"))
    doc = load_path(tmp_path / "m.docx", MB).documents[0]
    assert doc.title == "Memo"
    assert doc.text == "First paragraph.\n\nSecond paragraph."


def test_jsonl_records_and_bad_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "a1", "text": "Alpha text.", "title": "A", "date": "2020-01-02"}),
        "{not json",
        json.dumps({"title": "no text"}),
        json.dumps({"text": "Beta text."}),
    ]
    loaded = load_path(write(tmp_path / "c.jsonl", "\n".join(lines)), MB)
    assert [d.doc_id for d in loaded.documents] == ["a1", "c-4"]
    assert loaded.documents[0].date == "2020-01-02"
    assert [label.rsplit(":", 1)[1] for label, _ in loaded.failures] == ["2", "3"]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.md", b"  \n\n ", "empty"),
        ("binary.txt", bytes(range(256)) * 4, "binary"),
        ("bad.txt", b"caf\x81\x8d\x8f\x90\x9d text", "undecodable"),
        ("corrupt.pdf", b"%PDF-1.4 this is not really a pdf", "corrupt PDF"),
        ("corrupt.docx", b"PK\x03\x04 not a zip", "corrupt DOCX"),
        ("image.png", b"\x89PNG\r\n", "unsupported file type .png"),
    ],
)
def test_bad_input_is_refused_with_reason(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    with pytest.raises(DocumentError, match=reason):
        load_path(write(tmp_path / name, data), MB)


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="too large"):
        load_path(write(tmp_path / "big.txt", "word " * 1000), 1000)


def test_discover_recurses_and_skips_hidden_and_unsupported(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    for name in ("a.txt", "sub/b.md", ".git/c.txt", "sub/d.png"):
        write(tmp_path / name, "Text.")
    assert [p.relative_to(tmp_path).as_posix() for p in discover([tmp_path])] == [
        "a.txt",
        "sub/b.md",
    ]


def test_iso_date_forms() -> None:
    assert iso_date("D:20220307120000Z") == "2022-03-07"
    assert iso_date("2022-13-45") is None
    assert iso_date(None) is None
