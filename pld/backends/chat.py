"""Chat routes: OpenAI, an OpenAI-compatible server's ``/v1/chat/completions``, or any other
LiteLLM provider. The model generates each label (no scoring, no calibration): the slow path on a
llama.cpp server, and the only one a hosted chat model offers."""

from __future__ import annotations

import os

from pld.backends.base import BackendInfo, BackendLM
from pld.backends.openai_compat import SERVER_MAX_TOKENS
from pld.backends.options import CALIBRATION_NEEDS_SCORING, LMOptions
from pld.errors import BackendError, ConfigError
from pld.faults import redact, split_credentials


def shown_address(api_base: str | None) -> str | None:
    """A server address as messages and records show it: credentials stripped."""
    return redact(split_credentials(api_base)[0]) if api_base else None


def chat_lm(model: str, options: LMOptions) -> BackendLM:
    """``openai/<model>``: OpenAI with ``OPENAI_API_KEY``, or the chat route of the server at ``api_base``."""
    key = os.environ.get("OPENAI_API_KEY")
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
    info = BackendInfo(spec=f"openai/{model}", kind="openai", server=shown_address(options.api_base),
                       timeout=options.timeout)
    return BackendLM(f"openai/{model}", backend=info, cache=options.cache, **kwargs, **server_generation_kwargs(options),
                     **options.request_kwargs())


def litellm_lm(spec: str, options: LMOptions) -> BackendLM:
    """Any other ``provider/model``: handed to ``dspy.LM`` (LiteLLM) unchanged."""
    info = BackendInfo(spec=spec, kind="litellm", server=shown_address(options.api_base), timeout=options.timeout)
    return BackendLM(spec, backend=info, cache=options.cache, **options.generation_kwargs(),
                     **options.request_kwargs())


def server_generation_kwargs(options: LMOptions) -> dict:
    """``options.generation_kwargs()``, and for a non-OpenAI server a cap it honours: DSPy sends the
    cap as ``max_completion_tokens``, which llama.cpp's server (and Ollama's /v1) ignore, so it is
    also sent as ``max_tokens`` in the body; without any cap those servers run to a full context."""
    kwargs = options.generation_kwargs()
    if options.api_base is not None:
        kwargs["max_tokens"] = options.max_tokens or SERVER_MAX_TOKENS
        kwargs["extra_body"] = {"max_tokens": kwargs["max_tokens"]}
    return kwargs
