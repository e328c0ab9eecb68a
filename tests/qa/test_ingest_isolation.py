"""One bad file fails alone: whatever its loader or the chunker raises, the batch goes on
and nothing of the bad file is stored (issue 9)."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import docx
from fpdf import FPDF

from tests.conftest import SAMPLE
from tests.qa.test_cli import citeqa


def docx_bytes(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def malformed_docx(text: str) -> bytes:
    """A valid DOCX zip whose document.xml is not well-formed XML."""
    src = zipfile.ZipFile(io.BytesIO(docx_bytes(text)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                data = data.replace(b"</w:body>", b"<w:p><w:r></w:body>")
            dst.writestr(item, data)
    return out.getvalue()


def pdf_with_broken_xref() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Tugboats guided the tanker into the estuary.")
    data = bytes(pdf.output())
    head, _, _ = data.rpartition(b"startxref")
    return head + b"startxref\n999999\n%%EOF\n"


def bad_batch(folder: Path) -> dict[str, str]:
    """The files of issue 9's acceptance, and what each must become."""
    folder.mkdir()
    shutil.copy(SAMPLE, folder / "good.txt")
    (folder / "half.docx").write_bytes(docx_bytes("Ferries sail at dawn. " * 200)[:2000])
    (folder / "malformed.docx").write_bytes(malformed_docx("Pilots board at the buoy."))
    (folder / "broken-xref.pdf").write_bytes(pdf_with_broken_xref())
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
    (folder / "image.txt").write_bytes(png + bytes(range(256)) * 4)
    (folder / "utf16.txt").write_bytes(
        "Dredgers deepened the channel to 14 metres.".encode("utf-16")
    )
    script = "<script>var x = '" + "a" * 4_000_000 + "';</script>"
    style = "<style>" + ".c{color:red}" * 80_000 + "</style>"
    body = "<p>Cranes unloaded 40 containers an hour at berth 7.</p>" * 20
    (folder / "one-line.html").write_text(
        f"<html><head><title>Berth report</title>{style}</head><body>{script}{body}</body></html>"
    )
    assert (folder / "one-line.html").stat().st_size > 5_000_000
    return {
        "good.txt": "added",
        "half.docx": "failed",
        "malformed.docx": "failed",
        "broken-xref.pdf": "either",
        "image.txt": "failed",
        "utf16.txt": "added",
        "one-line.html": "added",
    }


def test_a_batch_of_bad_files_completes_and_stores_nothing_partial(tmp_path: Path) -> None:
    import json

    expected = bad_batch(tmp_path / "in")
    data = tmp_path / "data"
    result = citeqa(data, "ingest", str(tmp_path / "in"))
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    for name, status in expected.items():
        if status == "failed":
            assert f"{name}:" in result.stderr, (name, result.stderr)
    listing = json.loads(citeqa(data, "docs", "list", "--json").stdout)
    stored = {Path(d["source"]).name for d in listing}
    assert {n for n, s in expected.items() if s == "added"} <= stored
    assert not {n for n, s in expected.items() if s == "failed"} & stored
    check = citeqa(data, "docs", "check")
    assert check.returncode == 0 and "0 damaged documents" in check.stdout, check.stderr
    utf16 = citeqa(data, "search", "dredgers channel metres", "--k", "1", "--json")
    assert "14 metres" in json.loads(utf16.stdout)[0]["chunk"]["text"]
