"""Several servers for one role: the role's DSPy LM over a ``litellm.Router``, one deployment per endpoint.

Why the Router: it is the ecosystem's load balancer (routing strategies, retry on another deployment,
cooldown of failing ones, session affinity); PLD only says how each endpoint is reached. Every
endpoint is a deployment of the LiteLLM provider ``pld-endpoint``, whose handler runs PLD's engine for
that one server, because two of PLD's engines are not one LiteLLM call: label scoring through
``/v1/completions`` (``--chat-format``) sends a request per label token, and ``ollama/`` speaks
Ollama's own API with a context window sized per prompt. A call and its follow-up requests thus
stay on one server. Endpoint kinds: ``chat`` (LiteLLM's chat call, e.g. ``openai/<model>`` with an
address), ``completions`` and ``ollama``; a router config may mix them.

Prefix affinity: the Router's session affinity pins a session id to the deployment that first served
it and skips a pinned one that is cooling down or failed for this call. The session id hashes the
prompt up to its last input field: the instructions (rules) and, for ContractNLI, the document, so a
document's hypotheses meet a warm prompt cache. The system prompt alone would pin a whole run with
one rule list to one server; every server keeps those rules warm anyway, since all of them see them.

Failover: an endpoint that cannot be reached, times out, rate-limits or answers 5xx fails with a
status the Router cools down (``allowed_fails=0``), and the call is retried on another endpoint
(``num_retries`` = endpoints - 1). DSPy's own retries (``--retries``, with backoff) wrap the whole
call for the moment every endpoint fails; then the run stops as ``pld.faults`` words it. Refused
credentials, a missing model and PLD's own errors are not retried on other endpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from pld.backends.options import CALIBRATION_NEEDS_SCORING, ROUTING_STRATEGIES, LMOptions
from pld.backends.pool.config import (ENDPOINT_CONCURRENCY, Endpoint, PoolConfig, affinity_key, endpoint_of, pool_config,
                                      split_api_bases)
from pld.errors import ConfigError

if TYPE_CHECKING:
    import dspy

__all__ = ["ENDPOINT_CONCURRENCY", "Endpoint", "PoolConfig", "affinity_key", "endpoint_of", "pool_config", "pool_lm",
           "split_api_bases"]


class EndpointRow(Protocol):
    """What a pool needs of the backend table's row for one endpoint kind (``pld.backends.registry``)."""

    scores_labels: bool
    calibrates: Callable[[str, LMOptions], bool]
    endpoint_engine: Callable[[Endpoint, LMOptions], Any] | None


def pool_lm(spec: str, options: LMOptions, *, check: bool, rows: Callable[[str], EndpointRow]) -> dspy.BaseLM:
    """The role's LM over a ``litellm.Router`` of its endpoints; ``check`` probes each before any run;
    ``rows`` gives the backend table's row of an endpoint kind (its engine, whether it scores labels
    and calibrates).

    A pool decodes as each of its servers does: the same label decoding (calibration included, where
    every endpoint's row calibrates) and the same model name, so DSPy's response cache treats it as
    the one server it stands for."""
    from pld.backends.base import BackendInfo, BackendLM, LabelDecoding
    from pld.backends.ollama import ollama_model_name
    from pld.backends.pool.checks import check_endpoints
    from pld.backends.pool.engine import RouterEngine
    config = pool_config(spec, options)
    if options.calibrate and not all(rows(endpoint.kind).calibrates(spec, options)
                                     for endpoint in config.endpoints):
        raise ConfigError(CALIBRATION_NEEDS_SCORING)
    strategy = config.settings.get("routing_strategy", options.routing_strategy)
    if strategy not in ROUTING_STRATEGIES:
        raise ConfigError(f"routing strategy {strategy!r} is not one of: {', '.join(ROUTING_STRATEGIES)}.")
    digest = check_endpoints(config.endpoints, options) if check else None
    backend, _, name = spec.partition("/")
    shown = tuple(endpoint.shown for endpoint in config.endpoints)
    scored = all(rows(endpoint.kind).scores_labels for endpoint in config.endpoints)
    decoding = LabelDecoding(label_mode=options.label_mode, calibrate=bool(options.calibrate)) if scored else None
    info = BackendInfo(spec=spec, kind=backend if backend in ("ollama", "openai") else "litellm", server=", ".join(shown),
                       timeout=options.timeout, ollama_digest=digest, chat_format=options.chat_format,
                       label_decoding=decoding if options.chat_format else None, endpoints=shown,
                       concurrency=sum(endpoint.concurrency for endpoint in config.endpoints))
    # The one-server names (label decoding included): one response cache for a server and its pool.
    model = (ollama_model_name(name, options) if backend == "ollama"
             else f"openai-completions/{name}{decoding.model_suffix()}" if options.chat_format and decoding else spec)
    engine = RouterEngine(config, options, rows)
    return BackendLM(model, backend=info, engine=engine, cache=options.cache, num_retries=options.num_retries,
                     **options.generation_kwargs())
