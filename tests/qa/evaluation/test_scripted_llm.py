"""The scripted OpenAI-compatible server speaks the protocol: a real process, driven by the
official ``openai`` client, plain and streamed, and through citeqa's own openai mode."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI

from qa.evaluation.scripted_llm import NOT_FOUND, Message, load_table, reply
from tests.conftest import free_port, server_process

TABLE = [
    {"question": "Who headed the American team?", "answer": "Juan Gonzalez headed it."},
    {"question": "What is SWIFT used for?", "answer": "Moving money between banks."},
]


def write_table(path: Path, records: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("scripted")
    answers = write_table(folder / "answers.jsonl", TABLE)
    port, log = free_port(), folder / "requests.jsonl"
    cmd = [sys.executable, "-m", "qa.evaluation.scripted_llm", "--answers", str(answers)]
    cmd += ["--port", str(port), "--log", str(log)]
    url = f"http://127.0.0.1:{port}/v1"
    with server_process(cmd, f"{url}/models", folder / "server.log", timeout=60):
        yield url, log


def user(text: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "Answer from the sources."},
        {"role": "user", "content": text},
    ]


def test_models_and_plain_completion(server: tuple[str, Path]) -> None:
    client = OpenAI(base_url=server[0], api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list()] == ["scripted"]
    prompt = "Sources:\n[1] Juan Gonzalez led it.\n\nQuestion: Who headed the American team?"
    done = client.chat.completions.create(model="scripted", messages=user(prompt))
    assert done.object == "chat.completion"
    assert done.choices[0].message.content == "Juan Gonzalez headed it."
    assert done.choices[0].finish_reason == "stop"
    assert done.usage is not None and done.usage.completion_tokens == 4
    missing = client.chat.completions.create(model="scripted", messages=user("Question: Who won?"))
    assert missing.choices[0].message.content == NOT_FOUND


def test_streamed_completion(server: tuple[str, Path]) -> None:
    client = OpenAI(base_url=server[0], api_key="unused", max_retries=0)
    stream = client.chat.completions.create(
        model="scripted",
        messages=user("Question: What is SWIFT used for?"),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Moving money between banks."
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len(chunks) > 3  # the role, word by word, the stop, the usage
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None


def test_raw_stream_ends_with_done(server: tuple[str, Path]) -> None:
    import httpx

    body = {
        "model": "scripted",
        "messages": user("Question: What is SWIFT used for?"),
        "stream": True,
    }
    with httpx.stream("POST", f"{server[0]}/chat/completions", json=body, timeout=10) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert events[-1] == "data: [DONE]"
    assert all(e.startswith("data: ") for e in events)


def test_requests_are_logged(server: tuple[str, Path]) -> None:
    client = OpenAI(base_url=server[0], api_key="unused", max_retries=0)
    client.chat.completions.create(model="scripted", messages=user("Question: Logged?"))
    last = json.loads(server[1].read_text().splitlines()[-1])
    assert last["reply"] == NOT_FOUND and "Logged?" in last["messages"][-1]["content"]


def test_reply_rules() -> None:
    table = {r["question"]: r["answer"] for r in TABLE}
    condense = [
        Message(role="system", content="Rewrite the last question so that it stands alone."),
        Message(
            role="user",
            content="Conversation:\nuser: Who headed the American team?\n"
            "assistant: Juan Gonzalez.\n\nLast question: What did they offer?\n\n"
            "Rewritten question:",
        ),
    ]
    assert reply(table, condense) == "What did they offer?"  # never an answer to a rewrite
    # the question on the "Question:" line wins over one quoted in the sources
    answer = Message(
        role="user",
        content="Sources:\n[1] Who headed the American team?\n\nQuestion: What is SWIFT used for?",
    )
    assert reply(table, [answer]) == "Moving money between banks."
    anywhere = Message(role="user", content="tell me: who headed the American team? please")
    assert reply(table, [anywhere]) == NOT_FOUND  # case matters: the table's exact words
    assert reply(table, [Message(role="user", content="Who headed the American team?")]) == (
        "Juan Gonzalez headed it."
    )


def test_a_question_listed_twice_is_refused(tmp_path: Path) -> None:
    path = write_table(tmp_path / "a.jsonl", [TABLE[0], TABLE[0] | {"answer": "Someone else."}])
    with pytest.raises(ValueError, match="listed twice"):
        load_table(path)
