"""Which turn format a served model uses, asked of the server itself.

A student on an OpenAI-compatible server is fast when PLD renders its turns and scores labels
through ``/v1/completions`` (``--chat-format``), and slow through the server's chat route, where
each label is generated. Where the server says which format its model was trained with, PLD uses
it; where it does not, the slow path is announced with the fix. The server says it in one of two
ways:

1. its chat template (llama.cpp's ``llama-server`` answers ``GET /props`` with ``chat_template``);
2. its tokenizer: a format's turn marker (``<start_of_turn>``, ``<|im_start|>``) that the server's
   tokenize endpoint returns as one token is a special token of the model's vocabulary, which only
   a model trained on that format has (llama-cpp-python's server, llama-server and vLLM tokenize
   special tokens).
"""

from __future__ import annotations

import logging

from pld.backends.served_tokens import ServerTokenizer, TokenizerBusy

logger = logging.getLogger(__name__)

TURN_MARKERS = {"gemma": "<start_of_turn>", "chatml": "<|im_start|>"}


def format_of_template(template: str | None) -> str | None:
    """The turn format a chat template renders, or None when it is none PLD renders."""
    for name, marker in TURN_MARKERS.items():
        if template and marker in template:
            return name
    return None


def detect_turn_format(api_base: str, model: str, *, api_key: str = "none", headers: dict[str, str] | None = None,
                       timeout: float | None = None) -> tuple[str | None, str]:
    """``(format, how it was found)``; ``(None, why not)`` when the server does not say."""
    import httpx

    root = api_base.rstrip("/").removesuffix("/v1")
    auth = {"Authorization": f"Bearer {api_key}", **(headers or {})}
    try:
        answer = httpx.get(f"{root}/props", headers=auth, timeout=min(timeout or 10.0, 10.0))
        template = answer.json().get("chat_template") if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        template = None
    if found := format_of_template(template if isinstance(template, str) else None):
        return found, "its chat template"
    tokenizer = ServerTokenizer(api_base, model, api_key=api_key, headers=headers, timeout=min(timeout or 10.0, 10.0))
    try:
        for name, marker in TURN_MARKERS.items():
            tokens = tokenizer.answer_tokens(marker)
            if tokens is None:
                return None, "it has no tokenize endpoint and no chat template"
            if len(tokens) == 1:
                return name, f"its tokenizer, which has {marker} as one special token"
    except TokenizerBusy as busy:
        return None, f"its tokenize endpoint did not answer ({busy.detail})"
    return None, "neither its chat template nor its tokenizer names a turn format PLD renders"
