"""Uploaded files: checked, saved under the uploads folder, and removed with their document.

The CLI, the HTTP API and the page all go through here (via ``Assistant``), so an uploaded
file's life is the same whichever door it came in by.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from qa.documents import SUPPORTED, slug


class UploadError(Exception):
    """A file refused before anything is stored; ``kind`` says why (HTTP maps it)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


def safe_filename(name: str) -> str:
    """A file name that cannot leave its folder: no separators, no leading dots."""
    base = re.split(r"[\\/]", name or "")[-1].strip()
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    suffix = f".{slug(ext).lower()}" if ext else ""
    return (slug(stem) if re.search(r"[A-Za-z0-9]", stem) else "upload") + suffix


def stage(
    files: Sequence[tuple[str, IO[bytes]]], folder: Path, max_bytes: int
) -> list[tuple[str, Path]]:
    """Check every file (type, size) before keeping any, then move them into ``folder``.

    Returns (client name, saved path) pairs. On any refusal nothing is left behind.
    """
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path, Path]] = []  # client name, part file, final path
    try:
        for filename, stream in files:
            name = safe_filename(filename)
            if Path(name).suffix not in SUPPORTED:
                raise UploadError(
                    "unsupported",
                    f"{filename!r}: unsupported file type; supported: {', '.join(SUPPORTED)}",
                )
            target = folder / name
            if target.resolve().parent != folder:
                raise UploadError("invalid", f"{filename!r}: invalid file name")
            part = folder / f".{uuid.uuid4().hex}.part"
            staged.append((filename, part, target))
            _copy_limited(stream, part, max_bytes, filename)
    except BaseException:
        for _, part, _ in staged:
            part.unlink(missing_ok=True)
        raise
    for _, part, target in staged:
        part.replace(target)
    return [(filename, target) for filename, _, target in staged]


def _copy_limited(stream: IO[bytes], dest: Path, max_bytes: int, filename: str) -> None:
    size = 0
    with dest.open("wb") as out:
        while chunk := stream.read(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                raise UploadError(
                    "too_large",
                    f"{filename!r} is larger than the {max_bytes / 1e6:g} MB limit per file",
                )
            out.write(chunk)


def owned_upload(source: str, uploads: Path) -> Path | None:
    """The uploaded file a document came from, if it lives under ``uploads``."""
    path = Path(source)
    return path if path.is_relative_to(uploads.resolve()) and path.is_file() else None
