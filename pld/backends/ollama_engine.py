"""Ollama's own API (``/api/generate``, ``/api/chat``) as a DSPy engine (the LM over it:
``pld.backends.ollama``).

Why not Ollama's OpenAI-compatible ``/v1``: it cannot set ``num_ctx``, and Ollama truncates a
prompt longer than its context window without an error. Here every request carries a ``num_ctx``
sized from the prompt and checked against the model's context length (``show``), and the
server's ``prompt_eval_count`` is checked afterwards: a prompt that filled the window was cut,
and the call fails with the numbers instead of answering from a truncated prompt.

Why ``/api/generate`` with ``raw=True``: the field headers of DSPy's ChatAdapter are written by
us and only the values are decoded (as the embedded engine does), which needs the prompt to end
inside the model's turn; so the turn format is rendered client-side for models whose template is
Gemma's or ChatML. Label fields are scored from the top log-probabilities of one token (Ollama
0.12.11 and later return them) or constrained by ``format`` (a JSON schema whose label is an
enum). A model with another template goes through ``/api/chat`` with ``format`` = a JSON schema
of all output fields. ``label_paths`` counts which path answered each label.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from typing import Any

import dspy
from dspy.lm15 import Message, Response, TextPart, Usage

from pld.backends.decoding import (COMPLETED_MARKER, OutputField, canonical_label, decode_fields, field_header,
                                   label_spellings, parse_output_fields, render_chat)
from pld.backends.turn_format import format_of_template
from pld.errors import BackendError
from pld.usage import estimate_tokens as usage_estimate

TOP_LOGPROBS = 20
DEFAULT_FREE_TEXT_TOKENS = 384
MIN_NUM_CTX = 2048
TEMPLATE_TOKENS = 8  # what Ollama's template adds around a prompt, at most, for the models PLD renders


def estimate_tokens(text: str, bound: str = "upper") -> int:
    """Tokens ``text`` takes in Ollama's window (its template included), from ``pld.usage``'s one
    estimate: the upper bound sizes the window, the lower one proves a prompt cannot fit."""
    return usage_estimate(text, bound) + TEMPLATE_TOKENS


def size_num_ctx(needed: int, *, current: int, context_length: int | None) -> int:
    """The window to ask for: a power of two that holds ``needed`` tokens, never below ``current``
    (Ollama reloads the model when ``num_ctx`` changes, so the window only grows, in few steps),
    and at most the model's context length."""
    size = max(current, MIN_NUM_CTX, 1 << max(needed - 1, 1).bit_length())
    return min(size, context_length) if context_length else size


def pick_label(top: list[tuple[str, float]], choices: tuple[str, ...]) -> str | None:
    """The choice that the most likely listed token starts, as greedy constrained decoding would
    take it; None when no listed token starts a choice, or the best one starts several."""
    for token, _ in sorted(top, key=lambda item: -item[1]):
        start = token.lstrip()
        owners = [choice for choice in choices
                  if start and any(spelling.startswith(start) for spelling in label_spellings(choice))]
        if owners:
            return owners[0] if len(owners) == 1 else None
    return None


def fields_schema(fields: list[OutputField]) -> dict[str, Any]:
    """A JSON schema of the output fields; a label field is an enum of its choices."""
    properties = {field.name: ({"type": "string", "enum": list(field.choices)} if field.choices
                               else {"type": "string"}) for field in fields}
    return {"type": "object", "properties": properties, "required": [field.name for field in fields]}


class OllamaEngine:
    """A DSPy engine over one model of one Ollama server; thread-safe (the httpx client is)."""

    def __init__(self, client: Any, tag: str, *, server: str, num_ctx: int | None = None,
                 keep_alive: str | float | None = "10m", label_mode: str = "score"):
        self.client = client
        self.tag = tag
        self.server = server
        self.fixed_num_ctx = num_ctx  # a window the caller chose; otherwise sized from the prompts
        self.keep_alive = keep_alive
        self.label_mode = label_mode
        self.label_paths: Counter[str] = Counter()
        self.num_ctx = 0
        self._model: tuple[str | None, int | None] | None = None  # (chat format, context length)
        self._logprobs = True  # until the server answers without them (before 0.12.11)
        self._lock = threading.Lock()

    def __deepcopy__(self, memo: dict) -> OllamaEngine:
        return self

    # -- engine contract -------------------------------------------------------------------
    def complete(self, request: dspy.lm15.Request) -> Response:
        system = request.system if isinstance(request.system, str) or request.system is None else "".join(
            part.text for part in request.system)
        turns = [(message.role, message.text or "") for message in request.messages]
        chat_format, context_length = self._show()
        config = request.config
        fields = parse_output_fields(system)
        usage: Counter[str] = Counter()
        if chat_format is None:
            text = self._chat(system, turns, fields, config, context_length, usage)
        else:
            prompt = render_chat(chat_format, system, turns)
            text = self._raw(prompt, fields, config, context_length, usage)
        return Response(id=None, model=request.model, message=Message.assistant([TextPart(text)]),
                        finish_reason="stop", usage=Usage(input_tokens=usage["input"], output_tokens=usage["output"]))

    def stream(self, request: dspy.lm15.Request):  # pragma: no cover - DSPy streams only on request
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def close(self) -> None:
        pass  # shared by copies of the LM

    # -- decoding ----------------------------------------------------------------------------
    def _raw(self, prompt: str, fields: list[OutputField] | None, config: Any, context_length: int | None,
             usage: Counter[str]) -> str:
        cap = config.max_tokens or DEFAULT_FREE_TEXT_TOKENS

        def generate(text: str, stop: list[str] | None = None, num_predict: int = cap, **kwargs: Any) -> Any:
            return self._call("generate", text, num_predict, config, context_length, usage, prompt=text, raw=True,
                              stop=stop, **kwargs)

        def choose(text: str, choices: tuple[str, ...], position: int) -> str:
            if self.label_mode == "score" and not config.temperature and self._logprobs:
                result = generate(text, num_predict=1, logprobs=True, top_logprobs=TOP_LOGPROBS)
                if result.logprobs:
                    top = [(item.token, item.logprob) for item in result.logprobs[0].top_logprobs or []]
                    picked = pick_label(top, choices)
                    if picked is not None:
                        self._count("logprobs")
                        return picked
                else:
                    self._logprobs = False  # an Ollama before 0.12.11: constrained decoding from now on
            name = "label"
            spellings = list(dict.fromkeys(s for choice in choices for s in label_spellings(choice)))
            schema = {"type": "object", "properties": {name: {"type": "string", "enum": spellings}},
                      "required": [name]}
            answer = generate(text, num_predict=64, format=schema).response or ""
            self._count("format")
            value = canonical_label(_json_field(answer, name) or "", choices)
            if value not in choices:
                raise BackendError(f"Ollama at {self.server} ignored the label schema for {self.tag!r} "
                                   f"(answered {answer[:60]!r}); update Ollama (structured outputs: 0.5 and later).")
            return value

        if not fields:
            return generate(prompt, stop=list(config.stop) or None).response or ""
        return decode_fields(prompt, fields, choose=choose,
                             generate=lambda text: generate(text, stop=["[[ ##", "\n\n\n"]).response or "")

    def _chat(self, system: str | None, turns: list[tuple[str, str]], fields: list[OutputField] | None,
              config: Any, context_length: int | None, usage: Counter[str]) -> str:
        """A model whose template PLD does not render: Ollama applies it; the fields come as JSON."""
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": role, "content": text} for role, text in turns]
        sized = "\n".join(message["content"] for message in messages) + " " * 64  # the template's own tokens
        cap = config.max_tokens or DEFAULT_FREE_TEXT_TOKENS
        result = self._call("chat", sized, cap, config, context_length, usage, messages=messages,
                            format=fields_schema(fields) if fields else None)
        content = result.message.content or ""
        if not fields:
            return content
        if any(field.choices for field in fields):
            self._count("chat-format")
        try:
            values = json.loads(content)
        except json.JSONDecodeError:
            return content  # an unparseable answer: that example's format failure
        return "".join(field_header(f.name) + str(values.get(f.name, "")).strip() + "\n\n" for f in fields) \
            + COMPLETED_MARKER

    # -- one request -------------------------------------------------------------------------
    def _call(self, endpoint: str, prompt_text: str, num_predict: int, config: Any, context_length: int | None,
              usage: Counter[str], **kwargs: Any) -> Any:
        num_ctx = self._window(prompt_text, num_predict, context_length)
        options = {"num_ctx": num_ctx, "num_predict": num_predict, "temperature": config.temperature or 0.0}
        if config.seed is not None:
            options["seed"] = config.seed
        if kwargs.get("stop"):
            options["stop"] = kwargs["stop"]
        kwargs.pop("stop", None)
        kwargs = {key: value for key, value in kwargs.items() if value is not None}
        try:
            result = getattr(self.client, endpoint)(model=self.tag, options=options, keep_alive=self.keep_alive,
                                                    stream=False, **kwargs)
        except Exception as exc:  # noqa: BLE001 - re-raised in DSPy's and PLD's terms
            self._raise_mapped(exc)
        evaluated = result.prompt_eval_count or 0
        usage["input"] += evaluated
        usage["output"] += result.eval_count or 0
        if evaluated and evaluated >= num_ctx - 1:
            raise BackendError(
                f"Ollama at {self.server} truncated the prompt for {self.tag!r}: it evaluated {evaluated} tokens, "
                f"the whole window (num_ctx={num_ctx}), for a prompt estimated at {estimate_tokens(prompt_text)} "
                "tokens; raise num_ctx (or leave it to PLD) or shorten the inputs.")
        return result

    def _window(self, prompt_text: str, num_predict: int, context_length: int | None) -> int:
        if self.fixed_num_ctx:
            return self.fixed_num_ctx
        surely = estimate_tokens(prompt_text, "lower")
        if context_length and surely + num_predict > context_length:
            raise BackendError(
                f"A prompt of {len(prompt_text)} characters (at least ~{surely} tokens) plus {num_predict} output "
                f"tokens does not fit the {context_length}-token context of {self.tag!r} at {self.server}; "
                "shorten the inputs (or the rules) or use a model with a longer context.")
        with self._lock:
            self.num_ctx = size_num_ctx(estimate_tokens(prompt_text) + num_predict, current=self.num_ctx,
                                        context_length=context_length)
            return self.num_ctx

    def _show(self) -> tuple[str | None, int | None]:
        """The model's turn format and context length, asked once."""
        if self._model is None:
            try:
                shown = self.client.show(self.tag)
            except Exception as exc:  # noqa: BLE001 - re-raised in DSPy's and PLD's terms
                self._raise_mapped(exc)
            info = dict(shown.modelinfo or {})
            arch = info.get("general.architecture")
            length = info.get(f"{arch}.context_length") if arch else None
            self._model = (format_of_template(shown.template), int(length) if length else None)
        return self._model

    def _raise_mapped(self, exc: Exception) -> None:
        mapped = self._mapped(exc)
        if mapped is exc:
            raise exc
        raise mapped from exc

    def _mapped(self, exc: Exception) -> Exception:
        """An ollama client error as DSPy's (it retries timeouts, 429 and 5xx) or PLD's (a missing model)."""
        from dspy import lm15

        status = getattr(exc, "status_code", None)
        message = str(getattr(exc, "error", None) or exc)
        if status == 404 or (status is not None and "not found" in message and "model" in message):
            return BackendError(f"Ollama at {self.server} does not have the model {self.tag!r}. "
                                f"Run `ollama pull {self.tag}` first.")
        if isinstance(exc, ConnectionError):
            return lm15.TransportError(f"Ollama at {self.server}: {message}")
        if type(exc).__name__.endswith("Timeout") or isinstance(exc, TimeoutError):
            return lm15.TimeoutError(f"Ollama at {self.server}: {message}")
        kwargs = {"status": status, "provider": "ollama"}
        if status == 429:
            return lm15.RateLimitError(message, **kwargs)
        if isinstance(status, int) and status >= 500:
            return lm15.ServerError(message, **kwargs)
        if isinstance(status, int) and status in (401, 403):
            return lm15.AuthError(message, **kwargs)
        if isinstance(status, int) and 400 <= status < 500:
            return lm15.InvalidRequestError(message, **kwargs)
        return exc

    def _count(self, path: str) -> None:
        with self._lock:
            self.label_paths[path] += 1


def _json_field(text: str, name: str) -> str | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return str(value.get(name)) if isinstance(value, dict) and name in value else None
