"""Backend faults end a run; a garbled answer costs one example.

A student or teacher whose answer cannot be parsed is a per-example "format failure". A server
that refuses the credentials, lacks the model or the path, cannot be reached, or keeps timing
out is not: swallowed per example it turns every answer into a failure and a compile into an
empty artifact with Macro F1 0. Such faults abort at once with one line that names the server
(credentials stripped), the cause and the fix. The classification lives here, in one place.

Transient faults (timeouts, HTTP 429 and 5xx, dropped connections) are retried before they get
here, by DSPy's own loop (``dspy.LM(num_retries=...)``: exponential backoff of 1, 2, 4... seconds,
honouring ``Retry-After``); PLD adds no retry loop of its own around LM calls, so waits never
multiply. A refused connection at the start is caught before any run (``pld.backends.lm.check_reachable``).
A request refused for its input alone (too long for the context, a content filter) stays that
example's failure.
"""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from pld.errors import BackendError, ConfigError, PLDError

logger = logging.getLogger(__name__)

FaultKind = Literal["auth", "not-found", "unreachable", "timeout", "rate-limit", "server", "bad-url", "rejected",
                    "config"]
TRANSIENT: frozenset[str] = frozenset({"timeout", "rate-limit", "server"})

# Class names, matched anywhere in an exception's MRO, so no client library must be imported to
# classify its errors: dspy.utils.exceptions, dspy.lm15, LiteLLM, openai, httpx, ollama, builtins.
_ANSWER = {"AdapterParseError", "ContextWindowExceededError", "ContextLengthError"}
_BY_NAME: tuple[tuple[FaultKind, frozenset[str]], ...] = (
    ("auth", frozenset({"AuthError", "LMAuthError", "AuthenticationError", "PermissionDeniedError", "BillingError",
                        "LMBillingError", "LMNotConfiguredError", "NotConfiguredError"})),
    ("not-found", frozenset({"NotFoundError", "UnsupportedModelError", "LMUnsupportedModelError"})),
    ("timeout", frozenset({"TimeoutError", "LMTimeoutError", "Timeout", "APITimeoutError", "TimeoutException",
                           "ReadTimeout", "ConnectTimeout", "WriteTimeout", "PoolTimeout"})),
    ("rate-limit", frozenset({"RateLimitError", "LMRateLimitError", "RouterRateLimitError"})),
    ("server", frozenset({"ServerError", "LMServerError", "InternalServerError", "ServiceUnavailableError",
                          "BadGatewayError"})),
    ("bad-url", frozenset({"InvalidURL", "UnsupportedProtocol", "MissingSchema", "InvalidSchema"})),
    ("unreachable", frozenset({"TransportError", "LMTransportError", "APIConnectionError", "ConnectError",
                               "ConnectionError", "NetworkError", "gaierror", "RemoteProtocolError"})),
    ("config", frozenset({"LMConfigurationError", "LMUnsupportedFeatureError"})),
    ("rejected", frozenset({"BadRequestError", "LMInvalidRequestError", "InvalidRequestError",
                            "UnprocessableEntityError"})),
)
_WHAT: dict[str, tuple[str, str]] = {  # kind -> (what happened, how to fix it)
    "auth": ("refused the credentials", "set OPENAI_API_KEY (or user:password@ in --api-base) to a key it accepts"),
    "not-found": ("has no such model or path",
                  "check the model name after the backend prefix, and that --api-base is the API root (often .../v1)"),
    "unreachable": ("cannot be reached", "start the server, or correct --api-base (scheme, host, port)"),
    "timeout": ("did not answer in time", "raise --timeout, or check that the server is up and not overloaded"),
    "rate-limit": ("kept rate-limiting the requests", "lower --threads, raise --retries, or retry later"),
    "server": ("kept failing with a server error", "check the server's log; raise --retries for a flaky server"),
    "bad-url": ("is not a valid address", "pass --api-base as http(s)://host:port/v1"),
    "rejected": ("rejected the request", "check the model name, --max-tokens and the server's log"),
    "config": ("is not configured for this request", "check the model spec and its options"),
}
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]*://)[^/\s?#]*@")  # up to the last @
_SECRET_PARAM = re.compile(r"(?i)([?&;](?:api[_-]?key|key|token|access[_-]?token|auth|secret|password|passwd|sig|"
                           r"signature|code)=)[^&;#\s'\"]*")
_BEARER = re.compile(r"\b(Bearer|Basic|bearer|basic)\s+(?=[A-Za-z._~\-]*[0-9+/=])[A-Za-z0-9._~+/=\-]{8,}")
_API_KEY = re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}")
T = TypeVar("T")


def redact(text: str) -> str:
    """``text`` with credentials removed: URL userinfo, key-like query parameters, bearer tokens."""
    text = _USERINFO.sub(r"\g<scheme>", str(text))
    text = _SECRET_PARAM.sub(r"\1***", text)
    text = _BEARER.sub(r"\1 ***", text)
    return _API_KEY.sub("sk-***", text)


def check_url(url: str) -> str:
    """``url`` if it is a usable http(s) server address; a ConfigError (credentials stripped) otherwise."""
    shown = redact(url)
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        if valid and parts.port is None and parts.netloc.rpartition("@")[2].rpartition("]")[2].count(":"):
            valid = False  # an empty port
    except ValueError:  # a port that is no number: it may be a password typed without a host, never shown
        host = parts.netloc.rpartition("@")[2].rpartition(":")[0]
        shown, valid = f"{parts.scheme}://{host}:***{parts.path}", False
    if not valid:
        raise ConfigError(f"--api-base {shown!r} is not a valid address; pass it as http(s)://host:port/v1.")
    return url


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """The URL without ``user:password@`` and the HTTP basic-auth header that carries them instead.

    Clients differ on userinfo (some refuse the URL, some print it in errors): it never reaches one.
    """
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, {}
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port is not None else "")
    token = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}".encode()
    return urlunsplit(parts._replace(netloc=netloc)), {"Authorization": "Basic " + base64.b64encode(token).decode()}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 32:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _attr(obj: object, name: str) -> Any:
    try:
        return getattr(obj, name, None)
    except Exception:  # noqa: BLE001 - some clients' properties raise when unset
        return None


def _status(exc: BaseException) -> int | None:
    for value in (_attr(exc, "status"), _attr(exc, "status_code"), _attr(_attr(exc, "response"), "status_code")):
        if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
            return value
    return None


def _about_one_input(exc: BaseException) -> bool:
    """A refusal that concerns this input only: too long for the context, or a content filter."""
    text = f"{exc} {getattr(exc, 'provider_code', '') or ''}".lower()
    too_long = "context" in text and any(word in text for word in ("length", "size", "window", "exceed", "too long"))
    return too_long or "content_policy" in text or "content_filter" in text


def _kind_of(exc: BaseException) -> FaultKind | None | Literal["answer"]:
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & _ANSWER:
        return "answer"
    status = _status(exc)
    for kind, wanted in _BY_NAME:
        if names & wanted:
            if kind == "rejected":
                return "answer" if _about_one_input(exc) else _by_status(status) or "rejected"
            return kind
    return _by_status(status) if status is not None and status >= 400 else None


def _by_status(status: int | None) -> FaultKind | None:
    if status in (401, 402, 403):
        return "auth"
    if status == 404:
        return "not-found"
    if status in (408, 504):
        return "timeout"
    if status == 429:
        return "rate-limit"
    if status is not None and status >= 500:
        return "server"
    return None


def fault_kind(exc: BaseException) -> FaultKind | None:
    """What kind of backend fault ``exc`` is, or None when it is a failure of one answer.

    A fault raised while DSPy re-asks after an unparseable answer (its JSON fallback, which some
    servers refuse) belongs to that answer: a persistent fault shows again on the next example.
    """
    for link in _chain(exc):
        if isinstance(link, PLDError):
            return "config" if isinstance(link, BackendError | ConfigError) else None
        kind = _kind_of(link)
        if kind == "answer":
            return None
        if kind is not None:
            inner = [_kind_of(cause) for cause in _chain(link) if cause is not link]
            if "answer" in inner:
                return None
            return "timeout" if kind == "unreachable" and "timeout" in inner else kind  # a read timeout
    return None


def is_backend_fault(exc: BaseException) -> bool:
    """True when ``exc`` means the backend cannot answer at all (abort), not that one answer failed."""
    return fault_kind(exc) is not None


def is_transient(exc: BaseException) -> bool:
    """True for faults worth retrying: timeouts, rate limits, server errors."""
    return fault_kind(exc) in TRANSIENT


def server_of(lm: Any) -> str:
    """Who answers for ``lm``: its spec and server address, credentials stripped. For an LM that
    PLD did not build, its model name and the ``api_base`` it was given."""
    from pld.backends.base import backend_info

    info = backend_info(lm)
    if info.kind == "other" and (getattr(lm, "kwargs", None) or {}).get("api_base"):
        return redact(f"{info.spec} at {lm.kwargs['api_base']}")
    return redact(info.describe())


def backend_error(exc: BaseException, server: str, *, retries: int | None = None,
                  timeout: float | None = None) -> PLDError:
    """One line for the user: which server, what went wrong, how to fix it (no credentials).

    A BackendError or ConfigError that PLD raised itself (inside an engine) comes back as it was.
    """
    own = next((link for link in _chain(exc) if isinstance(link, BackendError | ConfigError)), None)
    if own is not None:
        return own
    kind = fault_kind(exc) or "rejected"
    what, fix = _WHAT[kind]
    if kind == "timeout" and timeout:
        what = f"did not answer within {timeout:g} s"
    status = next((s for s in map(_status, _chain(exc)) if s is not None), None)
    retried = f"after {retries} retr{'y' if retries == 1 else 'ies'}" if retries and kind in TRANSIENT else ""
    cause = ", ".join(part for part in (f"HTTP {status}" if status else "", retried,
                                        _detail(exc) or type(exc).__name__) if part)
    return BackendError(f"{redact(server)} {what} ({cause}); {fix}.")


_NOISE = re.compile(r"^(?:\[[^\]]*\]\s*|(?:litellm\.)?\w+(?:Error|Exception)\s*(?::|-)\s*)+")


def _detail(exc: BaseException) -> str:
    """The server's own words, on one short line: library prefixes and remedies dropped."""
    text = str(getattr(exc, "message", None) or exc)
    text = _NOISE.sub("", " ".join(redact(text).split())).split(" To fix:")[0].split("; this is")[0]
    return text if len(text) <= 120 else text[:117] + "..."


def raise_if_backend_fault(exc: BaseException, lm: Any) -> None:
    """Raise a BackendError when ``exc`` is a backend fault; return when it is one bad answer."""
    if is_backend_fault(exc):
        from pld.backends.base import backend_info

        error = backend_error(exc, server_of(lm), retries=getattr(lm, "num_retries", None),
                              timeout=backend_info(lm).timeout)
        if any(error is link for link in _chain(exc)):
            raise error  # PLD's own error from inside an engine, as it was raised
        raise error from exc


def retry_transient(call: Callable[[], T], *, retries: int, server: str, first_delay: float = 1.0) -> T:
    """``call()``, retried on transient faults with exponential backoff, then a BackendError;
    any other exception is re-raised as it is, for the caller to word.

    For requests PLD makes itself (server checks); LM calls are retried by DSPy.
    """
    for attempt in range(retries + 1):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - classified right here
            if not is_transient(exc):
                raise
            if attempt == retries:
                raise backend_error(exc, server, retries=retries) from exc
            delay = first_delay * 2 ** attempt
            logger.warning("%s: %s; retrying in %.0f s", redact(server), type(exc).__name__, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
