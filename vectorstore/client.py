"""Chroma clients: embedded (PersistentClient) by default, a Chroma server when a URL is set."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

if TYPE_CHECKING:
    from chromadb.api import ClientAPI


def make_client(path: Path | None = None, url: str | None = None) -> ClientAPI:
    """A Chroma client for ``url`` when given, else an embedded store under ``path``.

    Both return the same ``ClientAPI``, so everything above this line runs one code path.
    """
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if url:
        parsed = urlparse(url if "://" in url else f"http://{url}")
        if not parsed.hostname:
            raise ValueError(f"CITEQA_CHROMA_URL is not a URL: {url!r}")
        ssl = parsed.scheme == "https"
        port = parsed.port or (443 if ssl else 8000)
        return chromadb.HttpClient(host=parsed.hostname, port=port, ssl=ssl, settings=settings)
    if path is None:
        raise ValueError("an embedded Chroma store needs a path")
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)
