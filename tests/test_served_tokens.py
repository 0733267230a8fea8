"""A completions server's tokenizer over HTTP: a missing endpoint is remembered, a busy one is not."""

from __future__ import annotations

import json

import httpx
import pytest

from pld.backends.served_tokens import NO_TOKENIZER, ServerTokenizer, TokenizerBusy


class _Server:
    """Answers requests as llama-cpp-python's server would, after ``failures`` passing faults; every
    ``httpx.Client`` made while it is installed talks to it (``install``)."""

    def __init__(self, failures: list[BaseException | int]):
        self.failures = list(failures)
        self.paths: list[str] = []
        self.clients = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        client = httpx.Client

        def connected(**kwargs) -> httpx.Client:
            self.clients += 1
            return client(transport=httpx.MockTransport(self.answer), **kwargs)

        monkeypatch.setattr(httpx, "Client", connected)

    def answer(self, request: httpx.Request) -> httpx.Response:
        path = str(request.url).split("127.0.0.1:8000/")[1]
        self.paths.append(path)
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, BaseException):
                raise failure
            return httpx.Response(failure)
        if path == "extras/tokenize":
            return httpx.Response(200, json={"tokens": [2, *range(10, 10 + len(json.loads(request.content)["input"].split()))]})
        return httpx.Response(404)


def test_a_timeout_or_a_busy_server_falls_back_for_that_call_only(monkeypatch):
    server = _Server([httpx.ReadTimeout("timed out"), 503])
    server.install(monkeypatch)
    tokenizer = ServerTokenizer("http://127.0.0.1:8000/v1", "gemma")
    with pytest.raises(TokenizerBusy, match="did not answer in time"):
        tokenizer.prompt_tokens("the label")
    with pytest.raises(TokenizerBusy) as busy:
        tokenizer.prompt_tokens("the label")
    assert busy.value.detail == "HTTP 503"
    assert tokenizer.prompt_tokens("the label") == [2, 10, 11]  # asked again, and it answers
    assert tokenizer.answer_tokens("the label") == [10, 11]


def test_a_server_without_a_tokenize_endpoint_is_not_asked_again(monkeypatch):
    server = _Server([404, 404, 404])
    server.install(monkeypatch)
    tokenizer = ServerTokenizer("http://127.0.0.1:8000/v1", "gemma")
    assert tokenizer.prompt_tokens("the label") is None
    asked = len(server.paths)
    assert tokenizer.prompt_tokens("the label") is None and len(server.paths) == asked
    with pytest.raises(Exception, match=NO_TOKENIZER):
        tokenizer.label_pieces("stereotype")


def test_each_text_is_asked_once_over_one_connection(monkeypatch):
    """Discovering a label set's prefix tokens asks for many short texts: one kept-alive client, and a
    text already answered is not asked again."""
    server = _Server([])
    server.install(monkeypatch)
    tokenizer = ServerTokenizer("http://127.0.0.1:8000/v1", "gemma")
    for _ in range(3):
        assert tokenizer.answer_tokens("the label") == [10, 11]
    assert server.paths == ["extras/tokenize"] * 2  # "" (the BOS) and "the label", once each
    assert server.clients == 1
    tokenizer.close()
