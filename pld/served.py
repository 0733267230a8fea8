"""OpenAI-compatible servers that serve raw text completions (llama.cpp server, vLLM, Ollama's
/v1/completions): label fields are scored from the top log-probabilities of one output token.

The prompt is rendered client-side in the model's turn format (``chat_format``), the field header
is written by us, and the server is asked for a single token with its top alternatives; the label
whose spelling starts with the most likely listed token wins (the same rule as embedded scoring).
When no listed token starts a label, the label is generated (a GBNF grammar for llama.cpp
servers, free text otherwise); ``label_paths`` counts which path answered.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import dspy
from dspy.lm15 import Message, Response, TextPart, Usage

from pld.local.prompting import choice_grammar, decode_fields, parse_output_fields, render_chat

TOP_LOGPROBS = 20


def pick_from_top_logprobs(top: dict[str, float], choices: tuple[str, ...]) -> str | None:
    """The choice whose prefix is spelled by the most likely listed token; None if none is."""
    best: tuple[float, int] | None = None
    for token, logprob in top.items():
        if not token:
            continue
        for index, choice in enumerate(choices):
            if choice.startswith(token) and (best is None or logprob > best[0]):
                best = (logprob, index)
    return None if best is None else choices[best[1]]


class CompletionsEngine:
    """A DSPy engine over ``POST /v1/completions``; thread-safe (the OpenAI client is)."""

    def __init__(self, base_url: str, model: str, *, chat_format: str, api_key: str = "none", max_tokens: int = 384):
        import openai

        self.client = openai.OpenAI(base_url=base_url, api_key=api_key)
        self.model = model
        self.chat_format = chat_format
        self.max_tokens = max_tokens
        self.label_paths: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __deepcopy__(self, memo: dict) -> CompletionsEngine:
        return self

    def complete(self, request: dspy.lm15.Request) -> Response:
        system = request.system if isinstance(request.system, str) or request.system is None else "".join(
            part.text for part in request.system
        )
        prompt = render_chat(self.chat_format, system, [(m.role, m.text or "") for m in request.messages])
        config = request.config
        usage = Counter()
        fields = parse_output_fields(system)

        def call(text: str, **kwargs: Any) -> Any:
            result = self.client.completions.create(model=self.model, prompt=text, temperature=config.temperature or 0.0,
                                                    seed=config.seed, **kwargs)
            if result.usage is not None:
                usage["input"] += result.usage.prompt_tokens
                usage["output"] += result.usage.completion_tokens
            return result.choices[0]

        def generate(text: str, stop: list[str] | None = None, **kwargs: Any) -> str:
            return call(text, max_tokens=config.max_tokens or self.max_tokens, stop=stop or ["[[ ##"], **kwargs).text

        def choose(text: str, choices: tuple[str, ...], position: int) -> str:
            if not config.temperature:
                choice = call(text, max_tokens=1, logprobs=TOP_LOGPROBS)
                top = (choice.logprobs.top_logprobs or [{}])[0] if choice.logprobs else {}
                picked = pick_from_top_logprobs(dict(top), choices)
                if picked is not None:
                    self._count("logprobs")
                    return picked
            try:
                value = generate(text, stop=["\n"], extra_body={"grammar": choice_grammar(choices)})
                self._count("grammar")
            except Exception:  # noqa: BLE001 - a server without GBNF support: free generation
                value = generate(text, stop=["\n"])
                self._count("free")
            return value

        text = decode_fields(prompt, fields, choose=choose, generate=generate) if fields else generate(prompt, list(config.stop))
        return Response(id=None, model=request.model, message=Message.assistant([TextPart(text)]), finish_reason="stop",
                        usage=Usage(input_tokens=usage["input"], output_tokens=usage["output"]))

    def _count(self, path: str) -> None:
        with self._lock:
            self.label_paths[path] += 1

    def stream(self, request: dspy.lm15.Request):  # pragma: no cover
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def close(self) -> None:
        self.client.close()
