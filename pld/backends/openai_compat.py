"""OpenAI-compatible servers that serve raw text completions (llama.cpp server, vLLM, Ollama's
/v1/completions), with label fields decoded by the embedded engine's rule.

The prompt is rendered client-side in the model's turn format (``chat_format``; Gemma's system
text opens the first user turn), and the field header is written by us. A label is the choice
whose prefix token is likeliest after the prompt — the first step of greedy decoding under a
grammar over the labels, and the embedded engine's rule: one request for one token, with
``logit_bias`` lifting exactly the labels' prefix tokens (as the server's tokenize endpoint
splits them), so the server needs no log-probabilities (``--logits_all False`` on llama.cpp's
Python server, which then runs twice as fast). Where that token starts several labels, or the
server ignores ``logit_bias``, the summed log-probability of each label's own tokens decides
(``pld.backends.served_labels``); where nothing settles it, the label is generated (a GBNF
grammar for llama.cpp servers, free text otherwise). ``label_paths`` counts which path answered,
``fallback_reasons`` why the faster one did not. ``label_mode="grammar"`` skips scoring: one
constrained generation per label.
"""

from __future__ import annotations

import socket
import threading
import urllib.request
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import dspy
from dspy.lm15 import Message, Response, TextPart, Usage

from pld.backends.decoding import (choice_grammar, content_free, decode_fields, label_spellings, parse_output_fields,
                                   prefix_tokens, render_chat)
from pld.backends.options import TURN_FORMATS, LMOptions
from pld.backends.served_labels import ScoringFallback, score_labels
from pld.backends.served_tokens import NO_TOKENIZER, ServerTokenizer, TokenizerBusy
from pld.errors import BackendError, ConfigError
from pld.faults import redact, split_credentials

TOP_LOGPROBS = (1000, 20)  # a base model's label tokens sit far below the top 20; many servers cap at 20
DEFAULT_MAX_TOKENS = 384  # a server student's generated fields stop here when no cap is given
LOGIT_BIAS = 100  # lifts the labels' prefix tokens above any other (OpenAI's maximum)
MAX_LOGIT_BIAS = 300  # OpenAI's limit on biased tokens per request
CALIBRATION_RANGE = 40.0  # logits: calibration offsets beyond this are clipped to it
CALIBRATION_STEPS = 14  # bisection steps per label: 80 / 2**14 = 0.005 logits
SERVER_MAX_TOKENS = 1024  # a server's chat generations stop here when no cap is given (a rationale fits)


def check_reachable(url: str, timeout: float | None) -> None:
    """Fail at once, before any run, when nothing accepts connections at ``url`` (refused, no such host).

    DSPy would retry a refused connection as transient; a server that is not there at the start is
    a mistake to report, not to wait for. Skipped where a proxy makes the connection.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    if urllib.request.getproxies() and not urllib.request.proxy_bypass(host):
        return
    try:
        socket.create_connection((host, port), timeout=min(timeout or 10.0, 10.0)).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise BackendError(f"{redact(url)} cannot be reached ({reason}); start the server, "
                           "or correct --api-base (scheme, host, port).") from None


def completions_lm(model: str, options: LMOptions) -> dspy.BaseLM:
    """``openai/<model>`` on a text-completions server in a turn format PLD renders: label fields are
    scored (or generated under a grammar); the engine (``lm.engine``) counts which path answered each."""
    import os

    from pld.backends.base import BackendInfo, BackendLM, LabelDecoding

    if options.api_base is None:
        raise ConfigError(f"--chat-format needs --api-base (an OpenAI-compatible server) and one of: "
                          f"{', '.join(TURN_FORMATS)}.")
    url, _ = split_credentials(options.api_base)
    engine = completions_engine(model, options.api_base, options, os.environ.get("OPENAI_API_KEY") or "none")
    decoding = LabelDecoding(label_mode=options.label_mode, calibrate=bool(options.calibrate))
    info = BackendInfo(spec=f"openai/{model}", kind="openai", server=redact(url), timeout=options.timeout,
                       chat_format=options.chat_format, label_decoding=decoding)
    # The engine's client makes one attempt; DSPy retries the transient faults it reports.
    # The label decoding is part of the model name, so DSPy's response cache keeps the settings apart.
    return BackendLM(f"openai-completions/{model}{decoding.model_suffix()}", backend=info, engine=engine,
                     cache=options.cache, num_retries=options.num_retries, **options.generation_kwargs())


def completions_engine(model: str, api_base: str, options: LMOptions, key: str) -> CompletionsEngine:
    """The label-scoring engine for ``model`` on one completions server (a pool builds one per server)."""
    url, headers = split_credentials(api_base)
    return CompletionsEngine(url, model, chat_format=options.chat_format or "", api_key=key, headers=headers,
                             timeout=options.timeout, label_mode=options.label_mode, calibrate=bool(options.calibrate))


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


def _feature_refused(exc: Exception) -> bool:
    """A 400/500 that refuses a request feature (a grammar, log-probabilities), worth a simpler
    request; a missing model or path, or a prompt too long, is not."""
    return not isinstance(exc, dspy.lm15.UnsupportedModelError | dspy.lm15.ContextLengthError)


class CompletionsEngine:
    """A DSPy engine over ``POST /v1/completions``; thread-safe (the OpenAI client is)."""

    def __init__(self, base_url: str, model: str, *, chat_format: str, api_key: str = "none",
                 max_tokens: int = DEFAULT_MAX_TOKENS,
                 headers: dict[str, str] | None = None, timeout: float | None = None, label_mode: str = "score",
                 calibrate: bool = False):
        import openai

        # One attempt per request: DSPy retries the transient faults this engine reports (no double waits).
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key, default_headers=headers or None,
                                    timeout=timeout, max_retries=0)
        self.base_url = base_url
        self.api_key = api_key
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.model = model
        self.chat_format = chat_format
        self.max_tokens = max_tokens
        self.label_mode = label_mode  # "grammar": generate the label under a grammar, no log-probabilities
        self.calibrate = calibrate  # scoring: contextual calibration against a content-free input
        self._offsets: dict[tuple[str, tuple[str, ...]], list[float]] = {}
        self.label_paths: Counter[str] = Counter()
        self.fallback_reasons: Counter[str] = Counter()
        self.tokenizer = ServerTokenizer(base_url, model, api_key=api_key, headers=self.headers, timeout=timeout)
        self._owner_cache: dict[tuple[str, ...], dict[int, set[int]] | None] = {}
        self._bias_works: bool | None = None  # does this server apply logit_bias? (unknown until asked)
        self._top_index = 0
        self.stream_probes = True  # log-probabilities from streamed requests, while the server streams them
        self._lock = threading.Lock()

    def __deepcopy__(self, memo: dict) -> CompletionsEngine:
        return self

    def complete(self, request: dspy.lm15.Request) -> Response:
        system = request.system if isinstance(request.system, str) or request.system is None else "".join(
            part.text for part in request.system
        )
        turns = [(message.role, message.text or "") for message in request.messages]
        prompt = render_chat(self.chat_format, system, turns)
        calibration = None
        if self.calibrate and turns:  # the same prompt with content-free inputs, as the embedded engine builds it
            calibration = render_chat(self.chat_format, system, [*turns[:-1], (turns[-1][0], content_free(turns[-1][1]))])
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
            if kwargs.get("stream"):
                return result  # its chunks carry no usage; the caller counts
            if result.usage is not None:
                usage["input"] += result.usage.prompt_tokens
                usage["output"] += result.usage.completion_tokens
            return result

        def generate(text: str, stop: list[str] | None = None, **kwargs: Any) -> str:
            return call(text, max_tokens=config.max_tokens or self.max_tokens, stop=stop or ["[[ ##"], **kwargs).choices[0].text

        def probe(text: str) -> tuple[dict[str, float], int]:
            for top_n in TOP_LOGPROBS[self._top_index:]:
                try:
                    if self.stream_probes:
                        streamed = self._streamed_probe(call, text, top_n)
                        if streamed is not None:
                            usage["input"] += streamed[1]
                            usage["output"] += 1
                            return streamed
                    result = call(text, max_tokens=1, logprobs=top_n)
                    break
                except dspy.lm15.InvalidRequestError:
                    if top_n == TOP_LOGPROBS[-1]:
                        raise
                    self._top_index += 1  # this server refuses so many: ask for fewer from now on
            logprobs = result.choices[0].logprobs
            tops = logprobs.top_logprobs if logprobs else None
            return dict((tops or [{}])[0] or {}), result.usage.prompt_tokens if result.usage else -1

        def choose(text: str, choices: tuple[str, ...], position: int) -> str:
            if not config.temperature and self.label_mode == "score":
                content_free_prompt = calibration + text[len(prompt):] if calibration and position == 0 else None
                try:
                    return choices[self._score(text, choices, call, probe, content_free_prompt)]
                except ScoringFallback as fallback:
                    self._count_fallback(fallback.reason)
            try:
                value = generate(text, stop=["\n"], extra_body={"grammar": choice_grammar(choices)})
                self._count("grammar")
            except (dspy.lm15.InvalidRequestError, dspy.lm15.ServerError) as exc:
                # A server without GBNF support (400, or 500 from some): free generation. A lost
                # server fails that call too.
                if not _feature_refused(exc):
                    raise
                value = generate(text, stop=["\n"])
                self._count("free")
            return value

        text = decode_fields(prompt, fields, choose=choose, generate=generate) if fields else generate(prompt, list(config.stop))
        return Response(id=None, model=request.model, message=Message.assistant([TextPart(text)]), finish_reason="stop",
                        usage=Usage(input_tokens=usage["input"], output_tokens=usage["output"]))

    def _score(self, text: str, choices: tuple[str, ...], call: Any, probe: Any,
               content_free_prompt: str | None = None) -> int:
        """The embedded engine's rule: the choice whose prefix token is likeliest after ``text``
        (one request, ``logit_bias`` lifting exactly those tokens); where that token starts several
        choices, the summed log-probability of each one's own tokens decides among them. With a
        content-free prompt, each choice's bias is lowered by how much likelier it is there."""
        if content_free_prompt is not None:
            tied = self._first_token_choices(text, choices, call, self._calibrated_bias(content_free_prompt, choices, call))
            if len(tied) > 1:
                raise ScoringFallback("calibration with labels that share a prefix token")
            self._count("logit-bias")
            return tied[0]
        tied = range(len(choices))
        if self._bias_works is not False:
            try:
                tied = self._first_token_choices(text, choices, call)
            except ScoringFallback as fallback:
                self._count_fallback(fallback.reason)
            if len(tied) == 1:
                self._count("logit-bias")
                return tied[0]
        pieces = [self.tokenizer.label_pieces(choices[index]) for index in tied]
        try:
            picked = tied[score_labels(text, pieces, probe)]
        except (dspy.lm15.InvalidRequestError, dspy.lm15.ServerError) as exc:
            if not _feature_refused(exc):
                raise
            raise ScoringFallback("the server returns no log-probabilities") from exc
        self._count("logprobs")
        return picked

    def _first_token_choices(self, text: str, choices: tuple[str, ...], call: Any,
                             bias: dict[int, float] | None = None) -> list[int]:
        """Indices of the choices that the likeliest of their prefix tokens starts, each prefix
        token lifted by ``bias`` (default: the same lift for all)."""
        if self._bias_works is False:
            raise ScoringFallback("the server did not apply logit_bias")
        owners = self._owners(choices)
        if len(owners) > MAX_LOGIT_BIAS:
            raise ScoringFallback(f"the labels have more than {MAX_LOGIT_BIAS} prefix tokens")
        bias = bias or dict.fromkeys(owners, LOGIT_BIAS)
        result = call(text, max_tokens=1, logit_bias={str(token): value for token, value in bias.items()})
        piece = result.choices[0].text if result.choices else ""
        start = piece.lstrip()
        started = [index for index, choice in enumerate(choices)
                   if start and any(spelling.startswith(start) for spelling in label_spellings(choice))
                   and any(index in owners[token] for token in bias)]
        if not started:
            if self._bias_works is None:
                self._bias_works = False  # never applied here: stop asking this server
            raise ScoringFallback("the server did not apply logit_bias")
        self._bias_works = True
        return started

    def _calibrated_bias(self, content_free_prompt: str, choices: tuple[str, ...], call: Any) -> dict[int, float]:
        """Each prefix token's lift for calibrated scoring: ``LOGIT_BIAS`` less how much likelier (in
        logits) its choice's best prefix token is than the least likely choice's after the
        content-free prompt. The choice then picked maximises p(choice | input) / p(choice |
        content-free), as the embedded engine's calibration does, with no log-probabilities needed."""
        owners = self._owners(choices)
        if any(len(indices) > 1 for indices in owners.values()):
            raise ScoringFallback("calibration with labels that share a prefix token")
        key = (content_free_prompt, choices)
        offsets = self._offsets.get(key)
        if offsets is None:
            offsets = [0.0] + [self._offset(content_free_prompt, choices, index, call) for index in range(1, len(choices))]
            if len(self._offsets) < 256:
                self._offsets[key] = offsets  # content-free prompts repeat per rule list
        lowest = min(offsets)
        return {token: LOGIT_BIAS - (offsets[next(iter(indices))] - lowest) for token, indices in owners.items()}

    def _offset(self, text: str, choices: tuple[str, ...], index: int, call: Any) -> float:
        """How many logits choice ``index``'s best prefix token lies above choice 0's after ``text``,
        by bisection on the bias difference that makes the two tie (``CALIBRATION_STEPS`` requests;
        the server's prompt cache makes each cost one token)."""
        owners = self._owners(choices)
        low, high = -CALIBRATION_RANGE, CALIBRATION_RANGE
        for _ in range(CALIBRATION_STEPS):
            middle = (low + high) / 2  # choice 0 lifted ``middle`` more than choice ``index``
            first = LOGIT_BIAS + min(0.0, middle)
            bias = {token: first if 0 in indices else first - middle
                    for token, indices in owners.items() if {0, index} & indices}
            winner = self._first_token_choices(text, choices, call, bias)
            if winner == [index]:
                low = middle
            else:
                high = middle
        return (low + high) / 2

    def _owners(self, choices: tuple[str, ...]) -> dict[int, set[int]]:
        """The choices' prefix tokens as the server tokenizes them (cached per label set)."""
        if choices not in self._owner_cache:
            def tokenize(text: str) -> list[int]:
                tokens = self.tokenizer.answer_tokens(text)
                if not tokens:
                    raise ScoringFallback(NO_TOKENIZER)
                return tokens

            try:
                owners = prefix_tokens(choices, tokenize)
            except TokenizerBusy:
                raise  # this call falls back; the next one asks again
            except ScoringFallback:
                owners = None
            with self._lock:
                self._owner_cache[choices] = owners
        owners = self._owner_cache[choices]
        if owners is None:
            raise ScoringFallback(NO_TOKENIZER)
        return owners

    def _streamed_probe(self, call: Any, text: str, top_n: int) -> tuple[dict[str, float], int] | None:
        """The next token's top log-probabilities from a streamed request, and the prompt's token
        count from the server's tokenizer; None (and no more streaming) where the server does not
        stream log-probabilities.

        Why stream: llama-cpp-python's server, answering a request for log-probabilities in one
        piece, normalises the logits of every position of its context window (n_ctx x 262k floats
        for Gemma); streamed, it normalises the one position asked for: 3x faster per label here.
        """
        top: dict[str, float] | None = None
        try:
            for chunk in call(text, max_tokens=1, logprobs=top_n, stream=True):
                for choice in chunk.choices or ():
                    if choice.logprobs is not None and choice.logprobs.top_logprobs and top is None:
                        top = dict(choice.logprobs.top_logprobs[0] or {})
        except dspy.lm15.InvalidRequestError:  # refused as a stream: ask in one piece from now on
            self.stream_probes = False
            return None
        except Exception as exc:  # noqa: BLE001 - a fault while reading the stream, in DSPy's terms
            mapped = lm15_error(exc)
            if mapped is exc:
                raise
            raise mapped from exc
        tokens = self.tokenizer.prompt_tokens(text) if top is not None else None
        if top is None or tokens is None:
            self.stream_probes = False
            return None
        return top, len(tokens)

    def _count_fallback(self, reason: str) -> None:
        with self._lock:
            self.fallback_reasons[reason] += 1

    def _count(self, path: str) -> None:
        with self._lock:
            self.label_paths[path] += 1

    def stream(self, request: dspy.lm15.Request):  # pragma: no cover
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def close(self) -> None:
        self.client.close()
        self.tokenizer.close()
