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

import asyncio
import hashlib
import itertools
import logging
import re
import threading
import weakref
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal


from pld.backends.endpoints import EndpointStats
from pld.backends.options import CALIBRATION_NEEDS_SCORING, ROUTING_STRATEGIES, TURN_FORMATS, LMOptions
from pld.errors import BackendError, ConfigError, PLDError
from pld.faults import check_url, redact, split_credentials

if TYPE_CHECKING:
    import dspy

logger = logging.getLogger(__name__)

PROVIDER = "pld-endpoint"
GROUP = "pld-pool"
ENDPOINT_CONCURRENCY = 4  # concurrent requests one endpoint gets, unless its max_parallel_requests says otherwise
COOLDOWN_S = 5.0  # seconds a failed endpoint sits out before the Router tries it again
EndpointKind = Literal["chat", "completions", "ollama"]
_INPUT_HEADER = re.compile(r"^\[\[ ## \w+ ## \]\]\s*$", re.MULTILINE)
_NOISE = re.compile(r"^(?:(?:litellm\.)?\w+(?:Error|Exception)\s*[:\-]\s*)+")  # client-library prefixes


@dataclass(frozen=True)
class Endpoint:
    """One server as PLD reaches it. ``address`` may carry ``user:password@`` (sent as basic auth);
    what messages and records show is ``shown``, without credentials."""

    kind: EndpointKind
    model: str  # the LiteLLM model (chat), the served model name (completions) or the Ollama tag
    address: str | None
    api_key: str | None = None
    concurrency: int = ENDPOINT_CONCURRENCY
    routing: Mapping[str, Any] = field(default_factory=dict)  # rpm, tpm, weight, order: the Router reads them

    @property
    def shown(self) -> str:
        return redact(split_credentials(self.address)[0]) if self.address else self.model


@dataclass(frozen=True)
class PoolConfig:
    """The endpoints of one role and the Router settings its config file gives (if any)."""

    endpoints: list[Endpoint]
    settings: Mapping[str, Any] = field(default_factory=dict)


ROUTER_SETTINGS = ("routing_strategy", "num_retries", "allowed_fails", "cooldown_time", "retry_after")


def split_api_bases(text: str) -> list[str]:
    """``--api-base URL1,URL2`` as a list; an empty or repeated entry is refused with the fix."""
    urls = [part.strip() for part in text.split(",")]
    if len(urls) > 1 and not all(urls):
        raise ConfigError(f"--api-base {redact(text)!r} lists an empty address (two commas, or one at the end); "
                          "separate addresses with single commas.")
    repeated = sorted({redact(url) for url in urls if urls.count(url) > 1})
    if repeated:
        raise ConfigError(f"--api-base lists {', '.join(repeated)} more than once; name each server once.")
    return urls


def pool_config(spec: str, options: LMOptions) -> PoolConfig:
    """The role's endpoints: the router config's deployments, or one per ``api_base`` address."""
    if options.router is None:
        urls = split_api_bases(options.api_base or "")
        return PoolConfig([endpoint_of(options, {"model": spec, "api_base": url}, f"--api-base entry {i + 1}")
                           for i, url in enumerate(urls)])
    raw = _read_yaml(options.router)
    entries = raw.get("model_list") if isinstance(raw, dict) else raw
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"the router config {options.router} has no model_list; write LiteLLM's format, "
                          "model_list: [{model_name: NAME, litellm_params: {model: openai/NAME, api_base: URL}}].")
    groups: dict[str, list[tuple[int, dict]]] = {}
    for index, entry in enumerate(entries):
        params = entry.get("litellm_params") if isinstance(entry, dict) else None
        if not isinstance(params, dict) or not params.get("model"):
            raise ConfigError(f"{options.router}: model_list[{index}] has no litellm_params.model; each entry needs "
                              "model_name and litellm_params: {model, api_base}.")
        name = str(entry.get("model_name") or params["model"])
        groups.setdefault(name, []).append((index, _resolved(params, options.router)))
    wanted = spec.partition("/")[2]
    chosen = groups.get(spec) or groups.get(wanted) or (next(iter(groups.values())) if len(groups) == 1 else None)
    if chosen is None:
        raise ConfigError(f"the router config {options.router} has the model groups {', '.join(sorted(groups))} and "
                          f"none is named {wanted!r}; name one in the spec (e.g. {spec.partition('/')[0]}/"
                          f"{sorted(groups)[0]}).")
    settings = raw.get("router_settings") or {} if isinstance(raw, dict) else {}
    ignored = sorted(set(settings) - set(ROUTER_SETTINGS))
    if ignored:
        logger.warning("%s: router_settings %s are not used by PLD (it reads %s)", options.router,
                       ", ".join(ignored), ", ".join(ROUTER_SETTINGS))
    return PoolConfig([endpoint_of(options, params, f"{options.router}: model_list[{index}]") for index, params in chosen],
                      {key: value for key, value in settings.items() if key in ROUTER_SETTINGS})


def _read_yaml(path: str) -> Any:
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read the router config {path}: {exc.strerror or exc}; pass --router a YAML or "
                          "JSON file with a model_list (LiteLLM's format).") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"the router config {path} is not valid YAML{where} "
                          f"({getattr(exc, 'problem', None) or exc}); fix the file, or check it with a YAML linter.") from None


def _resolved(params: dict, path: str) -> dict:
    """LiteLLM's ``os.environ/NAME`` values read from the environment, as its Router does."""
    import os

    resolved = dict(params)
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("os.environ/"):
            name = value.removeprefix("os.environ/")
            if name not in os.environ:
                raise ConfigError(f"the router config {path} reads {key} from ${name}, which is not set; export it.")
            resolved[key] = os.environ[name]
    return resolved


def endpoint_of(options: LMOptions, params: Mapping[str, Any], where: str) -> Endpoint:
    """One deployment's LiteLLM params as an endpoint; its provider and ``--chat-format`` pick PLD's engine."""
    model = str(params["model"])
    provider, _, name = model.partition("/")
    address = params.get("api_base")
    if address is not None:
        try:
            check_url(str(address))
        except ConfigError as error:
            raise ConfigError(f"{where}: {error}") from None
    key = str(params["api_key"]) if params.get("api_key") else None
    common: dict[str, Any] = {"api_key": key, "concurrency": int(params.get("max_parallel_requests") or ENDPOINT_CONCURRENCY),
                              "routing": {k: params[k] for k in ("rpm", "tpm", "weight", "order") if k in params}}
    if provider in ("ollama", "ollama_chat"):
        from pld.backends.ollama import ollama_host

        return Endpoint("ollama", name, ollama_host(LMOptions(api_base=str(address) if address else None)), **common)
    if options.chat_format is None:
        return Endpoint("chat", model, str(address) if address else None, **common)
    if address is None:
        raise ConfigError(f"{where}: --chat-format needs an address (api_base) for every endpoint.")
    return Endpoint("completions", name or model, str(address), **common)


def can_calibrate(spec: str, options: LMOptions) -> bool:
    """Whether ``spec`` with ``options`` builds an engine that calibrates label scores: the embedded
    backend, or completions servers (``openai/`` with ``chat_format``), one or a pool of them (a
    pool decodes exactly as one of its servers, so it calibrates as one; a router config that names
    an Ollama or chat endpoint cannot)."""
    if spec.startswith("local/"):
        return True
    if options.chat_format not in TURN_FORMATS:
        return False
    if options.router is not None:
        return all(endpoint.kind == "completions" for endpoint in pool_config(spec, options).endpoints)
    return spec.startswith("openai/")


def affinity_key(system: str, turns: Sequence[tuple[str, str]]) -> str | None:
    """A hash of the prompt up to its last input field, or None when nothing is shared."""
    earlier, last = [text for _, text in turns[:-1]], turns[-1][1] if turns else ""
    headers = list(_INPUT_HEADER.finditer(last))
    head = last[: headers[-1].start()] if headers else ""
    shared = "\x1e".join([system, *earlier, head])
    return hashlib.sha256(shared.encode("utf-8")).hexdigest()[:24] if shared.strip("\x1e") else None


def pool_lm(spec: str, options: LMOptions, *, check: bool) -> dspy.BaseLM:
    """The role's LM over a ``litellm.Router`` of its endpoints; ``check`` probes each before any run."""
    from pld.backends.info import BackendInfo, BackendLM
    from pld.backends.ollama import ollama_model_name

    config = pool_config(spec, options)
    if options.calibrate and any(endpoint.kind != "completions" for endpoint in config.endpoints):
        raise ConfigError(CALIBRATION_NEEDS_SCORING)
    strategy = config.settings.get("routing_strategy", options.routing_strategy)
    if strategy not in ROUTING_STRATEGIES:
        raise ConfigError(f"routing strategy {strategy!r} is not one of: {', '.join(ROUTING_STRATEGIES)}.")
    digest = _check_endpoints(config.endpoints, options) if check else None
    backend, _, name = spec.partition("/")
    shown = tuple(endpoint.shown for endpoint in config.endpoints)
    info = BackendInfo(spec=spec, kind=backend if backend in ("ollama", "openai") else "litellm", server=", ".join(shown),
                       timeout=options.timeout, ollama_digest=digest, chat_format=options.chat_format,
                       endpoints=shown, concurrency=sum(endpoint.concurrency for endpoint in config.endpoints))
    model = (ollama_model_name(name, options) if backend == "ollama"
             else f"openai-completions/{name}" if options.chat_format else spec)  # the one-server names: one cache
    engine = RouterEngine(config, options)
    return BackendLM(model, backend=info, engine=engine, cache=options.cache, num_retries=options.num_retries,
                     **options.generation_kwargs())


def _check_endpoints(endpoints: list[Endpoint], options: LMOptions) -> str | None:
    """Before any run: an endpoint nothing listens at is reported and left to the Router (it may come
    back); all of them down, or one that lacks the model, stops the run. Returns the Ollama digest."""
    from pld.backends.ollama import check_ollama
    from pld.backends.openai_compat import check_reachable

    served = [endpoint for endpoint in endpoints if endpoint.address is not None]
    down, digests = [], set()
    for endpoint in served:
        try:
            check_reachable(split_credentials(endpoint.address)[0], options.timeout)
        except BackendError as error:
            down.append(str(error).split(";")[0])
            continue
        if endpoint.kind == "ollama":
            digests.add(check_ollama(endpoint.address, endpoint.model, timeout=min(options.timeout or 10.0, 10.0),
                                     retries=options.num_retries))
    if served and len(down) == len(served):
        raise BackendError(f"no endpoint of the pool can be reached ({'; '.join(down)}); start the servers, "
                           "or correct --api-base / --router.")
    for line in down:
        logger.warning("%s; the pool goes on without it until it answers", line)
    if len(digests) > 1:
        logger.warning("the Ollama hosts serve different builds of the model (digests %s); labels may differ "
                       "between endpoints", ", ".join(sorted(str(digest) for digest in digests)))
    return digests.pop() if len(digests) == 1 else None


_POOLS: weakref.WeakValueDictionary[str, RouterEngine] = weakref.WeakValueDictionary()
_POOL_IDS = itertools.count()


class RouterEngine:
    """A DSPy engine over a ``litellm.Router`` of PLD endpoints; thread-safe. The Router runs on an
    event-loop thread (its affinity and failover live on its async path); DSPy's worker threads
    wait there. The request travels to the endpoint's handler by id, not through LiteLLM."""

    def __init__(self, config: PoolConfig, options: LMOptions):
        self.endpoints = config.endpoints
        self.settings = dict(config.settings)
        self.options = options
        self.id = f"pool{next(_POOL_IDS)}"
        self._stats = [EndpointStats(endpoint=endpoint.shown) for endpoint in self.endpoints]
        self._engines = [self._engine_for(endpoint) for endpoint in self.endpoints]
        self._pending: dict[int, Any] = {}  # call id -> the lm15 Request, then its Response
        self._attempts: Counter[int] = Counter()
        self._errors: dict[int, Exception] = {}
        self._last_error: Exception | None = None
        self._calls = itertools.count()
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(sum(e.concurrency for e in self.endpoints) + len(self.endpoints),
                                            thread_name_prefix="pld-endpoint")
        self._router: Any = None
        _POOLS[self.id] = self

    def __deepcopy__(self, memo: dict) -> RouterEngine:
        return self

    def _engine_for(self, endpoint: Endpoint) -> Any:
        if endpoint.kind == "ollama":
            from pld.backends.ollama import ollama_engine

            return ollama_engine(endpoint.model, endpoint.address or "", self.options)
        if endpoint.kind == "completions":
            import os

            from pld.backends.openai_compat import completions_engine

            key = endpoint.api_key or os.environ.get("OPENAI_API_KEY") or "none"
            return completions_engine(endpoint.model, endpoint.address or "", self.options, key)
        return None  # chat: LiteLLM's own call

    # -- engine contract -------------------------------------------------------------------
    def complete(self, request: Any) -> Any:
        call = next(self._calls)
        with self._lock:
            self._pending[call] = request
        try:
            return asyncio.run_coroutine_threadsafe(self._route(call, request), self._running()).result()
        finally:
            with self._lock:
                self._pending.pop(call, None)
                self._errors.pop(call, None)
                self._attempts.pop(call, None)

    def stream(self, request: Any):  # pragma: no cover - DSPy streams only on request
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def close(self) -> None:
        pass  # shared by copies of the LM; the loop thread is a daemon

    def endpoint_stats(self) -> list[EndpointStats]:
        with self._lock:
            return [stat.model_copy() for stat in self._stats]

    def __getattr__(self, name: str) -> Any:
        """``label_paths`` / ``fallback_reasons``: the endpoints' engines' counters, summed."""
        if name not in ("label_paths", "fallback_reasons"):
            raise AttributeError(name)
        counters = [getattr(engine, name) for engine in self.__dict__.get("_engines", ()) if hasattr(engine, name)]
        if not counters:
            raise AttributeError(name)
        return sum(counters, Counter())

    # -- routing -----------------------------------------------------------------------------
    async def _route(self, call: int, request: Any) -> Any:
        metadata: dict[str, Any] = {"pld_call": call}
        if self.options.prefix_affinity:
            system = request.system if isinstance(request.system, str) or request.system is None else "".join(
                part.text for part in request.system)
            key = affinity_key(system or "", [(m.role, m.text or "") for m in request.messages])
            if key is not None:
                metadata["session_id"] = key
        try:  # the prompt travels by id; the Router reads only the metadata
            await self._router.acompletion(model=GROUP, messages=[{"role": "user", "content": "-"}], metadata=metadata)
            failed = False
        except Exception:  # noqa: BLE001 - the Router's verdict; the endpoint's own error is raised below
            failed = True
        if failed:  # outside the handler: the Router's wrapper (a 429 when all cool down) is not its cause
            raise self._final_error(call)
        with self._lock:
            return self._pending[call]

    def _running(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._router is None:
                self._router = self._make_router()
        return _shared_loop()

    def _make_router(self) -> Any:
        import litellm

        _register_handler()
        model_list = [{"model_name": GROUP, "model_info": {"id": f"{self.id}_{index}"},
                       "litellm_params": {"model": f"{PROVIDER}/{self.id}_{index}",
                                          "api_base": split_credentials(endpoint.address)[0] if endpoint.address else None,
                                          **endpoint.routing}}
                      for index, endpoint in enumerate(self.endpoints)]
        settings = {"routing_strategy": self.options.routing_strategy, "num_retries": len(self.endpoints) - 1,
                    "allowed_fails": 0, "cooldown_time": COOLDOWN_S, "retry_after": 0, **self.settings}
        affinity = {"optional_pre_call_checks": ["session_affinity"],
                    "session_affinity_repin_on_failover": True} if self.options.prefix_affinity else {}
        return litellm.Router(model_list=model_list, **settings, **affinity)

    async def attempt(self, index: int, call: int) -> None:
        """One try of ``call`` on endpoint ``index`` (the Router chose it); failures are cooled down."""
        endpoint, stat = self.endpoints[index], self._stats[index]
        with self._lock:
            request = self._pending[call]
            stat.calls += 1
            stat.retries += self._attempts[call] > 0
            self._attempts[call] += 1
        try:
            if endpoint.kind == "chat":
                response = await _chat(endpoint, request, self.options.timeout)
            else:
                loop = asyncio.get_running_loop()
                response = await loop.run_in_executor(self._executor, self._engines[index].complete, request)
        except Exception as exc:  # noqa: BLE001 - recorded, and handed to the Router as a retry decision
            error = _canonical(exc, endpoint)
            with self._lock:
                stat.failures += 1
                self._errors[call] = self._last_error = error
            raise _for_router(error, endpoint) from exc
        with self._lock:
            self._pending[call] = response

    def _final_error(self, call: int) -> Exception:
        """The error of this call's last attempt; with none (every endpoint cooling down), a transport
        error that names the last failure of the pool."""
        from dspy import lm15

        with self._lock:
            own, last = self._errors.get(call), self._last_error
        if own is not None:
            return own
        return lm15.TransportError(f"every endpoint failed and is cooling down; the last: {last or 'none recorded'}")


_LOOP: list[asyncio.AbstractEventLoop] = []
_LOOP_LOCK = threading.Lock()


def _shared_loop() -> asyncio.AbstractEventLoop:
    """One event-loop thread for every pool of the process: LiteLLM's logging worker is global and
    binds to one loop, so a loop per pool would orphan its tasks."""
    with _LOOP_LOCK:
        if not _LOOP:
            import atexit

            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="pld-router", daemon=True).start()
            atexit.register(_stop, loop)
            _LOOP.append(loop)
        return _LOOP[0]


def _stop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what still runs on a pool's loop (LiteLLM's logging worker), then stop it."""
    async def cancel_all() -> None:
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    try:
        asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(timeout=2)
    except Exception:  # noqa: BLE001 - best effort at shutdown
        pass
    loop.call_soon_threadsafe(loop.stop)


async def _chat(endpoint: Endpoint, request: Any, timeout: float | None) -> Any:
    """LiteLLM's chat call to one endpoint, through DSPy's own request and response conversion."""
    import os

    import litellm
    from dspy.clients.lm15_boundary import request_kwargs, response_value

    data = request_kwargs(request, "chat")
    url, headers = split_credentials(endpoint.address) if endpoint.address else (None, {})
    if url is not None:  # llama.cpp's server and Ollama's /v1 ignore max_completion_tokens
        from pld.backends.openai_compat import SERVER_MAX_TOKENS

        cap = request.config.max_tokens or SERVER_MAX_TOKENS
        data.pop("max_completion_tokens", None)
        data.update(max_tokens=cap, extra_body={"max_tokens": cap})
    key = endpoint.api_key or (os.environ.get("OPENAI_API_KEY") or "none" if endpoint.model.startswith("openai/") else None)
    client = {"api_base": url, "api_key": key, "extra_headers": headers or None, "timeout": timeout}
    raw = await litellm.acompletion(model=endpoint.model, num_retries=0, **{k: v for k, v in client.items() if v},
                                    **data)
    return response_value(raw, "chat", request)


def _canonical(exc: Exception, endpoint: Endpoint) -> Exception:
    """An attempt's error in DSPy's terms (PLD's own errors as they are), naming the endpoint."""
    from dspy import lm15
    from dspy.clients.engines.litellm_errors import to_lm15_error

    error = exc if isinstance(exc, PLDError) else to_lm15_error(exc)
    if isinstance(error, lm15.ServerError) and _lost_connection(exc):  # LiteLLM says 500; no server answered
        error = lm15.TransportError(str(error.message))
    if isinstance(error, lm15.LM15Error) and endpoint.shown not in str(error.message):
        error.message = f"{endpoint.shown}: {_NOISE.sub('', str(error.message or error.code))}"
        error.args = (error.message,)
    return error


def _lost_connection(exc: BaseException) -> bool:
    """Whether a connection failed (refused, reset) somewhere in ``exc``'s chain; a timeout is not that."""
    lost = {"ConnectError", "RemoteProtocolError", "ConnectionRefusedError", "ConnectionResetError"}
    link: BaseException | None = exc
    for _ in range(16):
        if link is None:
            return False
        names = {cls.__name__ for cls in type(link).__mro__}
        if names & lost or ("APIConnectionError" in names and not names & {"APITimeoutError", "Timeout"}):
            return True
        link = link.__cause__ or link.__context__
    return False


def _for_router(error: Exception, endpoint: Endpoint) -> Exception:
    """The LiteLLM exception that makes the Router do the right thing: a status it cools down and
    retries elsewhere for a lost, slow, busy or failing server; one it neither retries nor cools
    down for everything else (credentials, a missing model, PLD's own errors, one bad input)."""
    import litellm
    from dspy import lm15

    args = {"message": str(error), "llm_provider": PROVIDER, "model": endpoint.model}
    if isinstance(error, lm15.TimeoutError):
        return litellm.Timeout(**args)  # 408
    if isinstance(error, lm15.RateLimitError):
        return litellm.RateLimitError(**args)  # 429
    if isinstance(error, lm15.ServerError):
        return litellm.InternalServerError(**args)  # 500
    if isinstance(error, lm15.TransportError):  # not APIConnectionError: the Router never cools that down
        return litellm.ServiceUnavailableError(**args)  # 503
    return litellm.BadRequestError(**args)  # 400: no retry; the call raises this attempt's own error


_HANDLER: list[Any] = []


def _register_handler() -> None:
    """Register the ``pld-endpoint`` provider with LiteLLM once: it hands each attempt to its pool."""
    import litellm

    if _HANDLER:
        return

    class EndpointHandler(litellm.CustomLLM):
        async def acompletion(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict,
                              model_response: Any, print_verbose: Any, encoding: Any, api_key: Any, logging_obj: Any,
                              optional_params: dict, acompletion: Any = None, litellm_params: Any = None,
                              logger_fn: Any = None, headers: Any = None, timeout: Any = None, client: Any = None) -> Any:
            pool, _, index = model.rpartition("_")
            call = ((litellm_params or {}).get("metadata") or {})["pld_call"]
            await _POOLS[pool].attempt(int(index), call)
            return model_response

    _HANDLER.append(EndpointHandler())
    litellm.custom_provider_map.append({"provider": PROVIDER, "custom_handler": _HANDLER[0]})
