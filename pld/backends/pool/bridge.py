"""The pool's bridge to LiteLLM: the ``pld-endpoint`` provider whose handler runs one attempt on one
endpoint, the event-loop thread the Router lives on, and the translation of an endpoint's error
into the LiteLLM exception that makes the Router retry elsewhere, or not."""

from __future__ import annotations

import asyncio
import re
import threading
import weakref
from typing import Any

from pld.backends.pool.config import Endpoint
from pld.errors import PLDError
from pld.faults import split_credentials

PROVIDER = "pld-endpoint"
_NOISE = re.compile(r"^(?:(?:litellm\.)?\w+(?:Error|Exception)\s*[:\-]\s*)+")  # client-library prefixes
POOLS: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()  # pool id -> its RouterEngine


_LOOP: list[asyncio.AbstractEventLoop] = []
_LOOP_LOCK = threading.Lock()


def shared_loop() -> asyncio.AbstractEventLoop:
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


async def chat_attempt(endpoint: Endpoint, request: Any, timeout: float | None) -> Any:
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


def canonical_error(exc: Exception, endpoint: Endpoint) -> Exception:
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


def router_error(error: Exception, endpoint: Endpoint) -> Exception:
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


def register_handler() -> None:
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
            await POOLS[pool].attempt(int(index), call)
            return model_response

    _HANDLER.append(EndpointHandler())
    litellm.custom_provider_map.append({"provider": PROVIDER, "custom_handler": _HANDLER[0]})
