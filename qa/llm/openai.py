"""Any OpenAI-compatible server (vLLM, llama.cpp, Ollama, a hosted API), at the URL the
operator configured and nowhere else."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa.gate import AnswerPolicy, CalibratedGate, OnTopicGate
from qa.llm.base import ConfigError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from qa.config import Settings


def openai_chat(settings: Settings, base_url: str, model: str, api_key: str) -> BaseChatModel:
    """A ``ChatOpenAI`` bound to ``base_url``. The SDK's own environment (``OPENAI_BASE_URL``,
    proxies) is ignored: only a ``CITEQA_`` setting decides where data goes."""
    import httpx
    from langchain_openai import ChatOpenAI

    timeout = httpx.Timeout(settings.openai_timeout)
    return ChatOpenAI(
        base_url=base_url,
        api_key=api_key,
        model=model,
        temperature=settings.temperature,
        max_tokens=settings.max_answer_tokens,
        timeout=settings.openai_timeout,
        max_retries=1,
        stream_usage=True,
        http_client=httpx.Client(trust_env=False, timeout=timeout),
        http_async_client=httpx.AsyncClient(trust_env=False, timeout=timeout),
    )


class OpenAIBackend:
    name = "openai"
    rewrites_questions = True

    def check(self, settings: Settings) -> None:
        if not settings.openai_base_url:
            raise ConfigError(
                "openai mode needs CITEQA_OPENAI_BASE_URL (e.g. http://127.0.0.1:8080/v1); "
                "citeqa never picks a host on its own"
            )

    def chat_model(self, settings: Settings) -> BaseChatModel | None:
        self.check(settings)
        assert settings.openai_base_url is not None
        return openai_chat(
            settings, settings.openai_base_url, settings.openai_model, settings.openai_api_key
        )

    def policy(self, settings: Settings) -> AnswerPolicy:
        # A capable model reads more evidence, and its own refusal is the abstention.
        return AnswerPolicy(
            gate=OnTopicGate(settings.on_topic_floor),
            evidence_shown=settings.capable_evidence_sentences,
            trust_refusal=True,
            require_complete=False,
            fallback_gate=CalibratedGate(settings.min_support),
        )
