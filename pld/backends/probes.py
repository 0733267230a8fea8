"""One bounded probe per backend, as ``pld doctor`` prints it: each row of the backend table
(``pld.backends.registry``) names its probe here. Embedded models are loaded and run in a child
process (``pld.backends.local.probe``), so a native crash is reported instead of ending the doctor;
servers get one bounded request each."""

from __future__ import annotations

import os
from dataclasses import dataclass

from pld.errors import PLDError


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        return f"{mark}  {self.name}: {self.detail}" + (f"  -> fix: {self.fix}" if self.fix and not self.ok else "")


def check_embedded_model(name: str) -> Check:
    """Weights verified by SHA-256, then loaded and decoded in a child process."""
    from pld.backends.local.models import EMBEDDED_MODELS, resolve_model_path
    from pld.backends.local.probe import probe_model

    spec = f"local/{name}"
    try:
        path, _ = resolve_model_path(name)
    except PLDError as exc:
        extra = EMBEDDED_MODELS[name].extra if name in EMBEDDED_MODELS else "local"
        return Check(spec, False, str(exc), f'pip install -e ".[{extra}]"')
    result = probe_model(path)
    if not result.ok:
        return Check(spec, False, result.message)
    features = _compiled_features(result.system_info)
    return Check(spec, True, f"loads and decodes ({result.tokens} tokens, {result.seconds:.1f} s in a child process; "
                             f"build uses {features}); weights {path}")


def _compiled_features(system_info: str) -> str:
    """The CPU features a llama.cpp build was compiled for, from its system-info line."""
    names = [part.split("=")[0].strip() for part in system_info.replace("|", "\n").splitlines()
             if part.strip().endswith("= 1") or part.strip().endswith("=1")]
    wide = [n for n in names if n.startswith(("AVX", "AMX", "FMA", "F16C", "NEON", "SVE", "ARM"))]
    return ", ".join(wide) or "baseline instructions"


def check_ollama_server(spec: str, api_base: str | None, timeout: float) -> Check:
    from pld.backends.ollama import check_ollama, ollama_host
    from pld.backends.options import LMOptions

    host = ollama_host(LMOptions(api_base=api_base))
    try:
        check_ollama(host, spec.partition("/")[2], timeout=timeout)
    except PLDError as exc:
        return Check(spec, False, str(exc))
    return Check(spec, True, f"served by Ollama at {_redact(host)}")


def check_openai_server(spec: str, api_base: str | None, timeout: float) -> Check:
    return _check_openai(spec, spec.partition("/")[2], api_base, timeout)


def _check_openai(spec: str, model: str, api_base: str | None, timeout: float) -> Check:
    import httpx

    key = os.environ.get("OPENAI_API_KEY")
    if api_base is None and not key:
        return Check(spec, False, "no OPENAI_API_KEY and no --api-base", "export OPENAI_API_KEY=... or pass --api-base URL")
    base = (api_base or "https://api.openai.com/v1").rstrip("/")
    shown = _redact(base)
    try:
        answer = httpx.get(f"{base}/models", headers={"Authorization": f"Bearer {key or 'none'}"}, timeout=timeout)
    except httpx.HTTPError as exc:
        return Check(spec, False, f"cannot reach {shown} ({type(exc).__name__})",
                     "start the server, or correct --api-base (scheme, host, port, and the /v1 path)")
    if answer.status_code in (401, 403):
        return Check(spec, False, f"{shown} refused the credentials (HTTP {answer.status_code})", "check OPENAI_API_KEY")
    if answer.status_code == 404:
        return Check(spec, False, f"{shown}/models not found (HTTP 404)", "the address usually ends in /v1")
    if answer.status_code >= 400:
        return Check(spec, False, f"{shown} answered HTTP {answer.status_code}", "check the server's log")
    served = [item.get("id") for item in (answer.json().get("data") or []) if isinstance(item, dict)]
    if served and model not in served:
        return Check(spec, False, f"{shown} serves {', '.join(map(str, served[:5]))}, not {model!r}",
                     f"use openai/{served[0]}")
    return Check(spec, True, f"answered at {shown}")


def _redact(url: str) -> str:
    try:
        from pld.faults import redact
    except ImportError:  # pragma: no cover - faults ships with pld
        return url
    return redact(url)
