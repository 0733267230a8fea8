"""A pool's configuration: the endpoints of one role, from ``--api-base A,B`` or a LiteLLM Router
config file (``model_list``), each with the kind of server it is (``chat``, ``completions``,
``ollama``: a row of ``pld.backends.registry``) and its Router settings."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pld.backends.options import LMOptions
from pld.errors import ConfigError
from pld.faults import check_url, redact, split_credentials

logger = logging.getLogger(__name__)

ENDPOINT_CONCURRENCY = 4  # concurrent requests one endpoint gets, unless its max_parallel_requests says otherwise
EndpointKind = Literal["chat", "completions", "ollama"]
_INPUT_HEADER = re.compile(r"^\[\[ ## \w+ ## \]\]\s*$", re.MULTILINE)


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


def affinity_key(system: str, turns: Sequence[tuple[str, str]]) -> str | None:
    """A hash of the prompt up to its last input field; None when pinning would not pay.

    A pin sends a call to the server that holds its prefix even while that server is busy, so it pays
    only where re-reading the shared text on an idle server would cost more than waiting: the shared
    turns (beyond the system prompt, which every server caches anyway) must be at least as long as
    the rest of the prompt. A ContractNLI document's hypotheses pin; StereoSet's three sentences
    about one short context spread (pinned, two of them in flight queued on one server: 1.2x the
    per-call latency at equal load)."""
    earlier, last = [text for _, text in turns[:-1]], turns[-1][1] if turns else ""
    headers = list(_INPUT_HEADER.finditer(last))
    head = last[: headers[-1].start()] if headers else ""
    if sum(map(len, earlier)) + len(head) < len(last) - len(head) or not (head or earlier):
        return None
    shared = "\x1e".join([system, *earlier, head])
    return hashlib.sha256(shared.encode("utf-8")).hexdigest()[:24]
