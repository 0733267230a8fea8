"""Ollama servers: where one runs, whether it serves a model (and that model's digest), and the
DSPy LM that talks to it through its OpenAI-compatible endpoint."""

from __future__ import annotations

import os

from pld.backends.info import BackendInfo, BackendLM
from pld.backends.options import DEFAULT_OLLAMA_HOST, DEFAULT_RETRIES, LMOptions
from pld.errors import BackendError
from pld.faults import redact, retry_transient, split_credentials


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


def ollama_lm(tag: str, options: LMOptions, *, check: bool) -> BackendLM:
    """``ollama/<tag>``; ``check`` asks the server for the model (and its digest) before any run."""
    host = ollama_host(options)
    probe_timeout = min(options.timeout or 10.0, 10.0)
    digest = check_ollama(host, tag, timeout=probe_timeout, retries=options.num_retries) if check else None
    url, headers = split_credentials(host)
    backend = BackendInfo(spec=f"ollama/{tag}", kind="ollama", server=redact(url), timeout=options.timeout,
                          ollama_digest=digest)
    # DSPy 3.4's `ollama_chat/` route fails on an empty credential; Ollama's OpenAI-compatible
    # endpoint works. Ollama ignores the key, but OpenAI clients require one. Basic auth from
    # `user:password@` travels as a header (LiteLLM's route carries it), never in the address.
    return BackendLM(
        f"openai/{tag}",
        backend=backend,
        api_base=f"{url}/v1",
        api_key="ollama",
        cache=options.cache,
        **({"extra_headers": headers} if headers else {}),
        **options.generation_kwargs(),
        **options.request_kwargs(),
    )
