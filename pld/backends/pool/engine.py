"""A DSPy engine over a ``litellm.Router`` of a pool's endpoints: routing, affinity, failover and
per-endpoint statistics; each endpoint's own engine comes from its row of the backend table."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pld.backends.endpoint_stats import EndpointStats
from pld.backends.options import LMOptions
from pld.backends.pool.bridge import POOLS, PROVIDER, chat_attempt, canonical_error, register_handler, router_error, shared_loop
from pld.backends.pool.config import Endpoint, PoolConfig, affinity_key
from pld.faults import split_credentials

GROUP = "pld-pool"
COOLDOWN_S = 5.0  # seconds a failed endpoint sits out before the Router tries it again
_POOL_IDS = itertools.count()


class RouterEngine:
    """A DSPy engine over a ``litellm.Router`` of PLD endpoints; thread-safe. The Router runs on an
    event-loop thread (its affinity and failover live on its async path); DSPy's worker threads
    wait there. The request travels to the endpoint's handler by id, not through LiteLLM."""

    def __init__(self, config: PoolConfig, options: LMOptions, rows: Callable[[str], Any]):
        self.endpoints = config.endpoints
        self.settings = dict(config.settings)
        self.options = options
        self._rows = rows  # endpoint kind -> its row of the backend table
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
        POOLS[self.id] = self

    def __deepcopy__(self, memo: dict) -> RouterEngine:
        return self

    def _engine_for(self, endpoint: Endpoint) -> Any:
        """The endpoint's own engine, from its row of the backend table; None: LiteLLM's chat call."""
        build = self._rows(endpoint.kind).endpoint_engine
        return build(endpoint, self.options) if build is not None else None

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
        return shared_loop()

    def _make_router(self) -> Any:
        import litellm

        register_handler()
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
                response = await chat_attempt(endpoint, request, self.options.timeout)
            else:
                loop = asyncio.get_running_loop()
                response = await loop.run_in_executor(self._executor, self._engines[index].complete, request)
        except Exception as exc:  # noqa: BLE001 - recorded, and handed to the Router as a retry decision
            error = canonical_error(exc, endpoint)
            with self._lock:
                stat.failures += 1
                self._errors[call] = self._last_error = error
            raise router_error(error, endpoint) from exc
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
