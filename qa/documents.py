"""Load files into ``Document``s: text, title, date and a stable id, or a clear reason why not."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from qa.types import Document

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".jsonl")
_DATE_HEADER = re.compile(r"\A\s*date\s+(\d{4}-\d{2}-\d{2})\b[ \t]*\n?[ \t]*")
_ISO_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")
_MD_TITLE = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


class DocumentError(Exception):
    """A file that cannot become a document; the message says why, for the user."""


@dataclass
class Loaded:
    """What one file gave: documents, and per-record failures (JSONL lines)."""

    documents: list[Document] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)


def slug(text: str) -> str:
    return _SLUG.sub("-", text).strip("-._")[:80] or "doc"


def file_doc_id(path: Path) -> str:
    """Readable and stable: the file name plus a short hash of its absolute path."""
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:6]
    return f"{slug(path.stem)}-{digest}"


def iso_date(value: str | None) -> str | None:
    """YYYY-MM-DD from an ISO-ish or PDF (D:YYYYMMDD...) date, else None."""
    if not value:
        return None
    match = _ISO_DATE.search(value)
    if not match:
        return None
    try:
        year, month, day = (int(g) for g in match.groups())
        return datetime(year, month, day).date().isoformat()
    except ValueError:
        return None


def content_hash(text: str, title: str, date: str | None, url: str | None) -> str:
    payload = json.dumps([text, title, date, url], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def decode_text(data: bytes) -> str:
    """Decode bytes as text, refusing binary data; newlines are kept as they are."""
    if not data.strip():
        raise DocumentError("empty file: it holds no text")
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DocumentError("binary content, not text (it contains NUL bytes)")
    for encoding in (
        ("utf-8-sig", "utf-16")
        if data.startswith((b"\xff\xfe", b"\xfe\xff"))
        else (
            "utf-8-sig",
            "cp1252",
        )
    ):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DocumentError("undecodable: not UTF-8 or Windows-1252 text")
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > max(8, len(text[:8192]) // 100):
        raise DocumentError("binary content, not text (too many control characters)")
    return text


def _humanize(stem: str) -> str:
    # Separators next to letters become spaces; dates such as 2022-03-07 stay whole.
    words = re.sub(r"(?<=[^\W\d_])[-_]+|[-_]+(?=[^\W\d_])", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else stem


def _make(
    doc_id: str,
    source: str,
    title: str,
    text: str,
    date: str | None = None,
    url: str | None = None,
    body_start: int = 0,
    pages: list[tuple[int, int]] | None = None,
) -> Document:
    if not text[body_start:].strip():
        raise DocumentError("empty: no readable text")
    return Document(
        doc_id=doc_id,
        source=source,
        title=title.strip() or doc_id,
        date=date,
        url=url,
        text=text,
        body_start=body_start,
        content_hash=content_hash(text, title, date, url),
        pages=pages,
    )


def load_plain(path: Path, data: bytes) -> Document:
    """.txt/.md: offsets index the decoded file; a leading ``date YYYY-MM-DD`` is metadata."""
    text = decode_text(data)
    body_start, date = 0, None
    header = _DATE_HEADER.match(text)
    if header:
        date, body_start = iso_date(header.group(1)), header.end()
    title = _humanize(path.stem)
    if path.suffix.lower() in (".md", ".markdown"):
        heading = _MD_TITLE.search(text, body_start)
        if heading:
            title = heading.group(1)
    return _make(file_doc_id(path), str(path.resolve()), title, text, date, body_start=body_start)


def load_html(path: Path, data: bytes) -> Document:
    """Readable text only: scripts, styles and other non-content elements are dropped."""
    from bs4 import BeautifulSoup

    decode_text(data)  # same refusal of binary/empty input as plain text
    soup = BeautifulSoup(data, "lxml")
    date = None
    for attrs in (
        {"property": "article:published_time"},
        {"name": "date"},
        {"name": "pubdate"},
        {"name": "dc.date"},
        {"name": "DC.date"},
        {"itemprop": "datePublished"},
        {"property": "og:published_time"},
    ):
        tag = soup.find("meta", attrs=attrs)  # type: ignore[arg-type]
        if tag and tag.get("content"):
            date = iso_date(str(tag["content"]))
            if date:
                break
    if not date and (time_tag := soup.find("time", attrs={"datetime": True})):
        date = iso_date(str(time_tag["datetime"]))
    title_tag = soup.find("meta", attrs={"property": "og:title"})
    title = str(title_tag["content"]) if title_tag and title_tag.get("content") else ""
    if not title and soup.title and soup.title.string:
        title = soup.title.string
    for tag in soup(["script", "style", "noscript", "template", "head", "svg", "iframe"]):
        tag.decompose()
    raw = soup.get_text("\n")
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in raw.splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not title:
        heading = soup.find(["h1", "h2"])
        title = heading.get_text(" ", strip=True) if heading else _humanize(path.stem)
    return _make(file_doc_id(path), str(path.resolve()), title, text, date)


def load_pdf(path: Path, data: bytes) -> Document:
    """Text per page; ``pages`` keeps each page's character range for citations."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError("encrypted PDF: cannot read its text")
        parts, pages, pos = [], [], 0
        for page in reader.pages:
            page_text = (page.extract_text() or "").strip()
            pages.append((pos, pos + len(page_text)))
            parts.append(page_text)
            pos += len(page_text) + 2
        meta: dict[str, object] = dict(reader.metadata or {})
    except DocumentError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise DocumentError(f"corrupt PDF: {exc}") from exc
    title = str(meta.get("/Title") or "") or _humanize(path.stem)
    date = iso_date(str(meta.get("/CreationDate") or ""))
    return _make(
        file_doc_id(path), str(path.resolve()), title, "\n\n".join(parts), date, pages=pages
    )


def load_docx(path: Path, data: bytes) -> Document:
    import io
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(f"corrupt DOCX: {exc}") from exc
    text = "\n\n".join(p.text.strip() for p in document.paragraphs if p.text.strip())
    props = document.core_properties
    title = props.title or _humanize(path.stem)
    date = props.created.date().isoformat() if props.created else None
    return _make(file_doc_id(path), str(path.resolve()), title, text, date)


def load_jsonl(path: Path, data: bytes) -> Loaded:
    """One document per line (``text`` required; ``title``, ``date``, ``url``, ``id``)."""
    loaded = Loaded()
    seen: set[str] = set()
    for lineno, line in enumerate(decode_text(data).splitlines(), start=1):
        if not line.strip():
            continue
        label = f"{path}:{lineno}"
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise DocumentError("each line needs a JSON object with a 'text' string")
            doc_id = slug(str(record["id"])) if record.get("id") else f"{slug(path.stem)}-{lineno}"
            if doc_id in seen:
                raise DocumentError(f"duplicate id {doc_id!r}")
            url = record.get("url")
            loaded.documents.append(
                _make(
                    doc_id,
                    str(url or f"{path.resolve()}#{doc_id}"),
                    str(record.get("title") or doc_id),
                    record["text"],
                    iso_date(str(record.get("date") or "")),
                    str(url) if url else None,
                )
            )
            seen.add(doc_id)
        except json.JSONDecodeError as exc:
            loaded.failures.append((label, f"invalid JSON: {exc.msg}"))
        except DocumentError as exc:
            loaded.failures.append((label, str(exc)))
    if not loaded.documents and not loaded.failures:
        raise DocumentError("empty file: it holds no records")
    return loaded


def load_path(path: Path, max_bytes: int) -> Loaded:
    """Load one file of any supported type; raises ``DocumentError`` with the reason."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise DocumentError(f"unsupported file type {suffix or '(none)'}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentError(
                f"too large: {size / 1e6:.1f} MB, the limit is {max_bytes / 1e6:.0f} MB"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}") from exc
    if not data.strip():
        raise DocumentError("empty file: it holds no text")
    if suffix == ".jsonl":
        return load_jsonl(path, data)
    loader = {".pdf": load_pdf, ".docx": load_docx, ".html": load_html, ".htm": load_html}
    return Loaded([loader.get(suffix, load_plain)(path, data)])


def discover(paths: list[Path]) -> Iterator[Path]:
    """Files under the given paths, sorted. Folders recurse and yield only supported types
    (hidden entries skipped); a file named explicitly is always yielded, to be judged."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                hidden = any(p.startswith(".") for p in rel.parts)
                if child.is_file() and not hidden and child.suffix.lower() in SUPPORTED:
                    yield child
        else:
            yield path
