"""Ollama servers: where one runs, whether it serves a model (and that model's digest), and the
DSPy LM that talks to it through Ollama's own API (``/api/generate``, ``/api/chat``), which sets
the context window per request; the OpenAI-compatible ``/v1`` cannot, and is not used."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from pld.backends.base import BackendInfo, BackendLM
from pld.backends.options import CALIBRATION_NEEDS_SCORING, DEFAULT_OLLAMA_HOST, DEFAULT_RETRIES, LMOptions
from pld.errors import BackendError, ConfigError
from pld.faults import redact, retry_transient, split_credentials

if TYPE_CHECKING:
    from pld.backends.ollama_engine import OllamaEngine


def ollama_host(options: LMOptions) -> str:
    """The Ollama server address: explicit option, then ``OLLAMA_HOST``, then localhost."""
    host = options.api_base or os.environ.get("OLLAMA_HOST") or DEFAULT_OLLAMA_HOST
    if not host.startswith(("http://", "https://")):
        host = f"http://{host}"
    return host.rstrip("/").removesuffix("/v1")


def check_ollama(host: str, tag: str, *, timeout: float = 5.0, retries: int = DEFAULT_RETRIES) -> str | None:
    """Fail early with a one-line fix if the server is down or lacks ``tag``; return its digest."""
    import ollama

    url, headers = split_credentials(host)
    shown = redact(url)
    client = ollama.Client(host=url, timeout=timeout, headers=headers)
    try:
        listed = retry_transient(client.list, retries=retries, server=f"Ollama at {shown}")
    except (ConnectionError, OSError) as exc:
        raise BackendError(
            f"Cannot reach an Ollama server at {shown}. Start one with `ollama serve` "
            "(or set OLLAMA_HOST / --api-base to where it runs)."
        ) from exc
    except ollama.ResponseError as exc:
        raise BackendError(f"Ollama at {shown} answered with an error: {redact(exc.error)}") from exc
    wanted = tag if ":" in tag else f"{tag}:latest"
    for model in listed.models:
        if model.model in (tag, wanted):
            return model.digest
    raise BackendError(f"Ollama at {shown} does not have the model {tag!r}. Run `ollama pull {tag}` first.")


def ollama_lm(tag: str, options: LMOptions, *, check: bool, num_ctx: int | None = None) -> BackendLM:
    """``ollama/<tag>`` through Ollama's own API (``pld.backends.ollama_engine``); ``check`` asks the
    server for the model (and its digest) before any run; ``num_ctx`` fixes the context window
    instead of sizing it from the prompts (default ``options.num_ctx``)."""
    if options.calibrate:
        raise ConfigError(CALIBRATION_NEEDS_SCORING)
    host = ollama_host(options)
    probe_timeout = min(options.timeout or 10.0, 10.0)
    digest = check_ollama(host, tag, timeout=probe_timeout, retries=options.num_retries) if check else None
    url, _ = split_credentials(host)
    backend = BackendInfo(spec=f"ollama/{tag}", kind="ollama", server=redact(url), timeout=options.timeout,
                          ollama_digest=digest)
    engine = ollama_engine(tag, host, options, num_ctx=num_ctx)
    return BackendLM(ollama_model_name(tag, options), backend=backend, engine=engine, cache=options.cache,
                     num_retries=options.num_retries, **options.generation_kwargs())


def ollama_engine(tag: str, host: str, options: LMOptions, *, num_ctx: int | None = None) -> OllamaEngine:
    """The engine for ``tag`` on one Ollama server (a pool builds one per server)."""
    import ollama

    from pld.backends.ollama_engine import OllamaEngine

    url, headers = split_credentials(host)
    # One attempt per request: DSPy retries the transient faults the engine reports (no double waits).
    client = ollama.Client(host=url, timeout=options.timeout, headers=headers or None)
    return OllamaEngine(client, tag, server=redact(url), num_ctx=num_ctx or options.num_ctx,
                        label_mode=options.label_mode,
                        **({} if options.keep_alive is None else {"keep_alive": options.keep_alive}))


def ollama_model_name(tag: str, options: LMOptions) -> str:
    """The LM's model name: the label mode is part of it, so DSPy's response cache keeps the two apart."""
    return f"ollama/{tag}{'+grammar' if options.label_mode == 'grammar' else ''}"
