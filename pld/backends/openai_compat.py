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

from pld.backends.local.prompting import choice_grammar, decode_fields, parse_output_fields, render_chat

TOP_LOGPROBS = 20


def lm15_error(exc: Exception) -> Exception:
    """An openai client error as DSPy's canonical one: DSPy then retries timeouts, 429 and 5xx itself,
    and ``pld.faults`` words the rest. Anything else passes unchanged."""
    import openai
    from dspy import lm15

    message = str(getattr(exc, "message", None) or exc)
    if isinstance(exc, openai.APITimeoutError):
        return lm15.TimeoutError(message)
    if isinstance(exc, openai.APIConnectionError):
        return lm15.TransportError(message)
    if not isinstance(exc, openai.APIStatusError):
        return exc
    status = exc.status_code
    retry_after = exc.response.headers.get("retry-after") if exc.response is not None else None
    kwargs: dict[str, Any] = {"status": status, "provider": "openai-compatible",
                              "retry_after": float(retry_after) if retry_after and retry_after.isdigit() else None}
    if status in (401, 403):
        return lm15.AuthError(message, **kwargs)
    if status == 404:
        return lm15.UnsupportedModelError(message, **kwargs)
    if status in (408, 504):
        return lm15.TimeoutError(message, **kwargs)
    if status == 429:
        return lm15.RateLimitError(message, **kwargs)
    if status >= 500:
        return lm15.ServerError(message, **kwargs)
    if "context" in message.lower() and any(w in message.lower() for w in ("length", "size", "exceed")):
        return lm15.ContextLengthError(message, **kwargs)
    return lm15.InvalidRequestError(message, **kwargs)


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

    def __init__(self, base_url: str, model: str, *, chat_format: str, api_key: str = "none", max_tokens: int = 384,
                 headers: dict[str, str] | None = None, timeout: float | None = None):
        import openai

        # One attempt per request: DSPy retries the transient faults this engine reports (no double waits).
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key, default_headers=headers or None,
                                    timeout=timeout, max_retries=0)
        self.base_url = base_url
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
            try:
                result = self.client.completions.create(
                    model=self.model, prompt=text, temperature=config.temperature or 0.0, seed=config.seed, **kwargs)
            except Exception as exc:  # noqa: BLE001 - re-raised in DSPy's terms
                mapped = lm15_error(exc)
                if mapped is exc:
                    raise
                raise mapped from exc
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
            except (dspy.lm15.InvalidRequestError, dspy.lm15.ServerError) as exc:
                # A server without GBNF support (400, or 500 from some): free generation. A lost
                # server fails that call too; a missing model or path does not deserve a second try.
                if isinstance(exc, dspy.lm15.UnsupportedModelError | dspy.lm15.ContextLengthError):
                    raise
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
