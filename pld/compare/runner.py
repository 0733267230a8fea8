"""Run methods one after another on identical data and models; isolate failures; resume.

Each method writes ``OUT/<method>/result.json`` (and its artifact) as soon as it finishes. A re-run
reuses a result whose key — the method's settings, the data fingerprints and the models — is
unchanged, so an interrupted comparison resumes and a finished one reproduces its table.
Unavailable methods (a missing optional dependency) are always tried again; failed ones only
with ``retry_failed``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import dspy

from pld.artifacts.artifact import write_artifact
from pld.artifacts.atomic import atomic_write_text
from pld.artifacts.backend_records import backend_record
from pld.backends.base import backend_info, model_digests
from pld.compare.measure import EngineProbe, compile_cost, detached, evaluate_split, runtime_lm
from pld.compare.method import Method, MethodContext, MethodUnavailable
from pld.compare.methods import resolve_methods
from pld.compare.results import CompareReport, MethodResult
from pld.compare.settings import CompareSettings
from pld.evaluate import student_adapter
from pld.faults import redact
from pld.metrics import MacroF1
from pld.tasks import Splits
from pld.usage import counting

logger = logging.getLogger(__name__)

RESULT_FILE = "result.json"
ProgramFactory = Callable[[str], dspy.Module]


class InjectedFailure(RuntimeError):
    """Raised instead of compiling a method named in ``fail_methods`` (fault injection)."""


def run_method(method: Method, ctx: MethodContext, *, splits: Splits, make_program: ProgramFactory, out_dir: Path,
               key: str, settings: dict[str, Any], inject: bool, manifest: dict[str, Any],
               settings_error: Exception | None = None) -> MethodResult:
    """Compile, evaluate on val and test, and save ``method``; any exception becomes its row's error."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "error.txt").unlink(missing_ok=True)
    base = dict(method=method.name, description=method.description, key=key, strategy=method.strategy,
                settings=settings, seed=ctx.seed, budget=ctx.budget)
    probe = EngineProbe({"student": ctx.student_lm, "teacher": ctx.teacher_lm})
    load_start: float | None = None  # set once the method reaches its compile
    status, error, program = "ok", None, None
    with counting({"teacher": ctx.teacher_lm, "student": ctx.student_lm}, phase="compile") as counter:
        probe.start()
        started = time.perf_counter()
        try:
            _precheck(method, inject, settings_error)
            logger.info("%s: compiling (%s)", method.name, method.description)
            load_start = _cpu_load()
            with dspy.context(lm=ctx.student_lm, adapter=student_adapter(), max_errors=10_000):
                program = method.compile(ctx, settings)
        except MethodUnavailable as exc:
            status, error = "unavailable", str(exc)
        except Exception as exc:  # noqa: BLE001 - one failing method must not stop the others
            status, error = "failed", _describe(exc)
            (out_dir / "error.txt").write_text(redact(traceback.format_exc()), encoding="utf-8")
        wall = time.perf_counter() - started
    cost = compile_cost(counter, wall, probe)
    if status != "ok":
        logger.warning("%s: %s (%s)", method.name, status, error)
        return MethodResult(**base, status=status, error=error, compile=cost, load_avg=_load_span(load_start))
    try:
        report = getattr(program, "pld_report", None)
        program = detached(program, make_program(method.strategy))
        lm = runtime_lm(ctx.student_lm)
        val = evaluate_split(program, ctx.valset, lm, ctx.metric, f"{method.name} val")
        test = evaluate_split(program, splits.test, lm, ctx.metric, f"{method.name} test")
        result = MethodResult(**base, status="ok", compile=cost, val=val, test=test, artifact="artifact",
                              load_avg=_load_span(load_start))
        _save_artifact(out_dir / "artifact", program, result, report, manifest)
    except Exception as exc:  # noqa: BLE001
        (out_dir / "error.txt").write_text(redact(traceback.format_exc()), encoding="utf-8")
        logger.warning("%s: evaluation failed (%s)", method.name, exc)
        return MethodResult(**base, status="failed", error=f"after compiling: {_describe(exc)}", compile=cost,
                            load_avg=_load_span(load_start))
    logger.info("%s: val Macro F1 %.3f, test Macro F1 %.3f (compile %.0f s)", method.name,
                val.scores.macro_f1, test.scores.macro_f1, wall)
    return result


def run_comparison(
    settings: CompareSettings,
    *,
    splits: Splits,
    make_program: ProgramFactory,
    student_lm: dspy.BaseLM,
    teacher_lm: dspy.BaseLM,
    metric: MacroF1,
    out: str | Path,
    methods: Sequence[str | Method] | None = None,
) -> CompareReport:
    """Compare ``methods`` (default ``settings.methods``) and write ``out``: results.json, results.md, plots.

    ``make_program(strategy)`` returns a fresh student program (``"zero-shot"`` or ``"cot"``).
    ``metric`` must carry the full label set. Teacher and student may wrap the same model.
    """
    from pld.compare.report import write_outputs

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if metric.labels is None:
        raise ValueError("metric needs the full label set: macro_f1(label_field=..., labels=[...])")
    if teacher_lm is student_lm:  # separate objects so each call is counted under one role
        teacher_lm = teacher_lm.copy()
    resolved = resolve_methods(methods or settings.methods)
    _check_names(resolved, settings.fail_methods)
    settings = settings.model_copy(update={"methods": tuple(m.name for m in resolved)})  # what ran
    report = _empty_report(settings, splits, make_program, student_lm, teacher_lm, metric)
    identity = _identity(report, student_lm, teacher_lm)
    manifest = _manifest(report, student_lm, teacher_lm)
    started = time.perf_counter()
    complete = False
    warm = not settings.warm_up
    try:
        for method in resolved:
            ctx = MethodContext(student=make_program(method.strategy), student_lm=student_lm, teacher_lm=teacher_lm,
                                trainset=splits.train, valset=splits.val, metric=metric, seed=settings.seed,
                                budget=settings.budget)
            settings_error = None
            try:
                method_settings = method.settings(ctx)
            except Exception as exc:  # noqa: BLE001 - reported in the method's row
                method_settings, settings_error = {"error": _describe(exc)}, exc
            inject = method.name in settings.fail_methods
            key = _key(method, method_settings, identity, inject)
            cached = _reusable(out / method.name / RESULT_FILE, key, settings.retry_failed)
            if cached is not None:
                logger.info("%s: reusing %s (%s)", method.name, out / method.name / RESULT_FILE, cached.status)
                report.methods.append(cached)
                report.reused.append(method.name)
                continue
            if not warm and _runnable(method, inject, settings_error):
                warm = _warm_up(student_lm, teacher_lm)
            result = run_method(method, ctx, splits=splits, make_program=make_program, out_dir=out / method.name,
                                key=key, settings=method_settings, inject=inject, manifest=manifest,
                                settings_error=settings_error)
            atomic_write_text(out / method.name / RESULT_FILE, result.model_dump_json(indent=2))
            report.methods.append(result)
            write_outputs(report, out, plots=False)
        complete = True
    finally:
        report.wall_s = round(time.perf_counter() - started, 3)
        write_outputs(report, out, plots=complete)
    return report


def _precheck(method: Method, inject: bool, settings_error: Exception | None) -> None:
    """Raise what stops ``method`` before it makes any call."""
    if settings_error is not None:
        raise settings_error
    if inject:
        raise InjectedFailure(f"injected failure: {method.name} was told to fail (fail_methods / --fail-method)")
    missing = [name for name in method.requires if importlib.util.find_spec(name) is None]
    if missing:
        raise MethodUnavailable(f"needs {', '.join(missing)} (pip install {' '.join(missing)})")


def _runnable(method: Method, inject: bool, settings_error: Exception | None) -> bool:
    try:
        _precheck(method, inject, settings_error)
    except Exception:  # noqa: BLE001
        return False
    return True


def _warm_up(*lms: dspy.BaseLM) -> bool:
    """Load each model with one 1-token call outside the counters and the response cache."""
    for lm in lms:
        started = time.perf_counter()
        try:
            lm.copy(cache=False)("Hello", max_tokens=1)
        except Exception as exc:  # noqa: BLE001 - a failing model shows up in the methods' rows
            logger.warning("warm-up call to %s failed: %s", lm.model, exc)
        logger.info("warmed up %s in %.1f s", lm.model, time.perf_counter() - started)
    return True


def _check_names(methods: list[Method], fail_methods: Sequence[str]) -> None:
    from pld.errors import ConfigError

    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise ConfigError(f"a method is listed twice: {', '.join(names)}")
    unknown = sorted(set(fail_methods) - set(names))
    if unknown:
        raise ConfigError(f"--fail-method {', '.join(unknown)}: not among the methods run ({', '.join(names)})")


def _empty_report(settings: CompareSettings, splits: Splits, make_program: ProgramFactory,
                  student_lm: dspy.BaseLM, teacher_lm: dspy.BaseLM, metric: MacroF1) -> CompareReport:
    from pld.version import __version__
    from pld.artifacts.artifact import fingerprint

    signature = make_program("zero-shot").predictors()[0].signature
    digests = model_digests({"student": student_lm, "teacher": teacher_lm})
    return CompareReport(
        settings=settings, task=settings.task, label_field=metric.label_field, labels=list(metric.labels or ()),
        signature=f"{signature.__module__}.{signature.__name__}",
        student_model=settings.student, teacher_model=settings.teacher, model_digests=digests,
        data_sizes={name: len(getattr(splits, name)) for name in ("train", "val", "test")},
        data_fingerprints={name: fingerprint(getattr(splits, name)) for name in ("train", "val", "test")},
        versions={"pld": __version__, "dspy": dspy.__version__},
        lm_kwargs={"student": _lm_id(student_lm), "teacher": _lm_id(teacher_lm)}, methods=[],
    )


_SECRET_KWARGS = ("api_key", "headers", "extra_headers")


def _lm_id(lm: dspy.BaseLM) -> dict[str, Any]:
    """The LM's settings as recorded in results: credentials dropped, server addresses redacted."""
    kept = {k: redact(v) if isinstance(v, str) else v for k, v in sorted(lm.kwargs.items()) if k not in _SECRET_KWARGS}
    decoding = backend_info(lm).label_decoding  # how an embedded model decodes labels
    if decoding is not None:
        kept["label_decoding"] = decoding.as_options()
    return {"model": lm.model, **kept}


def _identity(report: CompareReport, student_lm: dspy.BaseLM, teacher_lm: dspy.BaseLM) -> dict[str, Any]:
    """What every method's result depends on besides its own settings (seed and budget enter
    through the settings of the methods that use them)."""
    return {"task": report.task, "signature": report.signature, "labels": report.labels,
            "data": report.data_fingerprints, "student": _lm_id(student_lm), "teacher": _lm_id(teacher_lm),
            "dspy": dspy.__version__}


def _key(method: Method, settings: dict[str, Any], identity: dict[str, Any], inject: bool) -> str:
    payload = {"method": method.name, "strategy": method.strategy, "settings": settings, "identity": identity,
               "inject_failure": inject}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _reusable(path: Path, key: str, retry_failed: bool) -> MethodResult | None:
    if not path.is_file():
        return None
    try:
        result = MethodResult.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    if result.key != key or result.status == "unavailable" or (result.status == "failed" and retry_failed):
        return None
    if result.status == "ok" and not (path.parent / "artifact" / "manifest.json").is_file():
        return None
    return result


def _manifest(report: CompareReport, student_lm: dspy.BaseLM, teacher_lm: dspy.BaseLM) -> dict[str, Any]:
    """Every method artifact's common record, built as ``pld compile``'s is."""
    from pld.jobs.manifest import artifact_manifest

    options = dict(report.lm_kwargs["student"].get("label_decoding") or {})  # pld.load applies them
    return artifact_manifest(task=report.task, signature=report.signature, label_field=report.label_field,
                             labels=report.labels, teacher_model=report.teacher_model,
                             student_model=report.student_model, teacher_lm=teacher_lm, student_lm=student_lm,
                             data_fingerprints=report.data_fingerprints, student_options=options)


def _save_artifact(path: Path, program: dspy.Module, result: MethodResult, pld_report: Any,
                   manifest: dict[str, Any]) -> None:
    from pld.compare.report import method_markdown

    files = {"report.md": method_markdown(result)}
    rules: list[dict[str, Any]] = []
    if pld_report is not None:
        files["report.json"] = pld_report.model_dump_json(indent=2)
        rules = [rule.model_dump() for rule in pld_report.rules]
    costs = {"method": result.method, "settings": result.settings,
             "compile": result.compile.model_dump() if result.compile else None}
    write_artifact(path, program, files, dict(manifest, strategy=result.strategy, rules=rules,
                                              baseline_val_macro_f1=None, costs=costs,
                                              final_val_macro_f1=result.val.scores.macro_f1 if result.val else None))


def _cpu_load() -> float:
    """The 1-minute load average: other processes on a shared machine slow every latency."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else 0.0


def _load_span(start: float | None) -> tuple[float, float] | None:
    return None if start is None else (start, _cpu_load())


def _describe(exc: BaseException) -> str:
    text = redact(f"{type(exc).__name__}: {exc}".strip())
    return text if len(text) <= 400 else text[:397] + "..."
