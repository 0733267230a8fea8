"""A completions server's own tokenizer, over HTTP: the token ids and pieces that exact label
scoring and ``logit_bias`` need, as the server (not PLD) splits the text.

Servers name the endpoint differently; the first of ``TOKENIZE_ROUTES`` that answers is kept, and a
server that has none (every route answers 404 or the like) is not asked again. A tokenize request that
fails for a passing reason (a timeout, a lost connection, a 5xx from a busy server) decides nothing
about the server: that call falls back (``TokenizerBusy``) and the next one asks again, so one slow
moment under load never turns a pool's label scoring off for the rest of a run.

Discovering a label set's prefix tokens asks for every prefix of every spelling (about 150 requests
for StereoSet's labels): the requests share one kept-alive connection (1.3 ms each on a local
llama.cpp server, against 20 ms with a new connection per request) and each text is asked once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from pld.backends.served_labels import ScoringFallback

NO_TOKENIZER = "the server has no tokenize endpoint"


class TokenizerBusy(ScoringFallback):
    """The tokenize endpoint did not answer this time (timeout, connection, 5xx): not remembered."""

    def __init__(self, detail: str):
        super().__init__("the server's tokenize endpoint did not answer in time")
        self.detail = detail


@dataclass(frozen=True)
class TokenizeRoute:
    """One server family's tokenize / detokenize endpoints (paths under the server's root)."""

    tokenize: str
    text_field: str
    options: dict = field(default_factory=dict)
    detokenize: str = "detokenize"
    detokenized_field: str = "content"


TOKENIZE_ROUTES = (
    TokenizeRoute("extras/tokenize", "input", {}, "extras/detokenize", "text"),  # llama-cpp-python's server
    TokenizeRoute("tokenize", "content", {"add_special": True}),  # llama.cpp's llama-server
    TokenizeRoute("tokenize", "prompt", {"add_special_tokens": True}, detokenized_field="prompt"),  # vLLM
)


class ServerTokenizer:
    """Tokenize and detokenize on the server at ``base_url`` (its ``/v1`` suffix dropped)."""

    def __init__(self, base_url: str, model: str, *, api_key: str = "none", headers: dict[str, str] | None = None,
                 timeout: float | None = None):
        self.root = base_url.rstrip("/").removesuffix("/v1")
        self.model = model
        self.headers = {"Authorization": f"Bearer {api_key}", **(headers or {})}  # basic auth, if given, wins
        self.timeout = timeout or 30.0
        self._route: TokenizeRoute | bool | None = None  # the server's endpoint once found; False: it has none
        self._bos: int | None = None
        self._pieces: dict[str, tuple[str, ...] | None] = {}
        self._known: dict[str, list[int]] = {}  # text -> its prompt tokens, as the server answered
        self._client: Any = None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def prompt_tokens(self, text: str) -> list[int] | None:
        """The server's token ids for ``text`` as a prompt (its BOS included); None without an endpoint."""
        if self._route is False:
            return None
        if text in self._known:
            return list(self._known[text])
        for route in (self._route,) if isinstance(self._route, TokenizeRoute) else TOKENIZE_ROUTES:
            answer = self._post(route.tokenize, {route.text_field: text, "model": self.model, **route.options})
            tokens = answer.get("tokens") if answer else None
            if isinstance(tokens, list) and all(isinstance(token, int) for token in tokens):
                self._route = route
                if len(self._known) < 4096 and len(text) <= 256:  # label texts, not whole prompts
                    self._known[text] = list(tokens)
                return tokens
        if self._route is None:
            self._route = False
        return None

    def answer_tokens(self, text: str) -> list[int] | None:
        """The token ids of ``text`` as answer text: without the BOS the server adds to any text."""
        if self._bos is None:
            empty = self.prompt_tokens("")
            if empty is None:
                return None
            self._bos = len(empty)
        tokens = self.prompt_tokens(text)
        return None if tokens is None else tokens[self._bos:]

    def label_pieces(self, label: str) -> tuple[str, ...]:
        """The label's own tokens as text (cached per label); ``ScoringFallback`` unless they spell it."""
        if label not in self._pieces:
            self._pieces[label] = self._spelled(label)
        pieces = self._pieces[label]
        if pieces is None:
            raise ScoringFallback(NO_TOKENIZER)
        return pieces

    def _spelled(self, text: str) -> tuple[str, ...] | None:
        """``text``'s tokens, each detokenized; None unless together they spell ``text``."""
        pieces = []
        for token in self.answer_tokens(text) or ():
            piece = self._detokenize(token)
            if piece is None:
                return None
            pieces.append(piece)
        return tuple(pieces) if pieces and "".join(pieces) == text else None

    def _detokenize(self, token: int) -> str | None:
        route = self._route if isinstance(self._route, TokenizeRoute) else TOKENIZE_ROUTES[0]
        answer = self._post(route.detokenize, {"tokens": [token], "model": self.model})
        text = answer.get(route.detokenized_field) if answer else None
        return text if isinstance(text, str) else None

    def _post(self, path: str, body: dict) -> dict | None:
        """The JSON answer of ``path`` under the server's root; None where the server has no such
        endpoint (4xx, or an answer that is not JSON); ``TokenizerBusy`` where it failed this time."""
        import httpx

        with self._lock:
            if self._client is None:
                self._client = httpx.Client(headers=self.headers, timeout=self.timeout)
            client = self._client
        try:
            answer = client.post(f"{self.root}/{path}", json=body)
        except httpx.HTTPError as exc:
            raise TokenizerBusy(f"{type(exc).__name__}: {exc}") from exc
        if answer.status_code >= 500 or answer.status_code == 429:
            raise TokenizerBusy(f"HTTP {answer.status_code}")
        try:
            return answer.json() if answer.status_code == 200 else None
        except ValueError:
            return None
