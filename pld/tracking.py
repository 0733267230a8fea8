"""Optional MLflow logging of a PLD compile: settings, scores, costs and the artifact folder.

MLflow's DSPy autologging (``mlflow.dspy.autolog(log_compiles=True)``) patches the ``compile``
of the ``Teleprompter`` subclasses that exist when it is called, and logs only the returned
program's state: it knows nothing of PLD's settings or validation scores, and when ``autolog()``
runs before ``import pld`` it never patches ``PLD.compile`` at all. So PLD reports to MLflow
itself, after the run report is built, in either import order:

- inside an active run (the user's own, or the one autologging opened around ``compile``), it
  logs there;
- with DSPy autologging of compiles on and no active run (``autolog()`` came before
  ``import pld``), it opens a run of its own, as autologging would have.

Otherwise, and whenever MLflow is not installed (or not imported: no run or autologging can be
active then), it does nothing. Logging never fails a compile: an MLflow error is a warning.
"""

from __future__ import annotations

import logging
import re
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import dspy

    from pld.artifacts.report import RunReport

__all__ = ["log_artifact_folder", "log_compile"]

logger = logging.getLogger(__name__)

RUN_ID_ATTRIBUTE = "pld_mlflow_run_id"  # set on the compiled program: where its compile was logged
PARAM_PREFIX = "pld."
ARTIFACT_PATH = "pld_artifact"
_UNSAFE_KEY = re.compile(r"[^A-Za-z0-9_\-. /]")


def _mlflow() -> Any | None:
    """The imported ``mlflow`` module, or None: without an import no run or autolog is active."""
    return sys.modules.get("mlflow")


def _autolog_compiles(mlflow: Any) -> bool:
    """Whether ``mlflow.dspy.autolog(log_compiles=True)`` is in force."""
    try:
        from mlflow.utils.autologging_utils import autologging_is_disabled, get_autologging_config
    except ImportError:  # pragma: no cover - a very old or partial MLflow
        return False
    return not autologging_is_disabled("dspy") and bool(get_autologging_config("dspy", "log_compiles", False))


def _key(name: str) -> str:
    """An MLflow-safe metric or parameter name (roles like ``teacher+student`` carry a ``+``)."""
    return _UNSAFE_KEY.sub("_", name.replace("+", "_and_"))


def compile_params(report: RunReport) -> dict[str, str]:
    """The run's settings (PLDConfig) and job shape as flat ``pld.*`` parameters."""
    params: dict[str, Any] = {f"{PARAM_PREFIX}{name}": value for name, value in report.settings.items()}
    params.update({
        f"{PARAM_PREFIX}teacher_model": report.teacher_model,
        f"{PARAM_PREFIX}student_model": report.student_model,
        f"{PARAM_PREFIX}n_train": report.n_train,
        f"{PARAM_PREFIX}n_val": report.n_val,
        f"{PARAM_PREFIX}labels": ",".join(report.labels),
    })
    return {_key(name): "None" if value is None else str(value)[:6000] for name, value in params.items()}


def compile_metrics(report: RunReport) -> list[tuple[str, float, int]]:
    """``(name, value, step)``: validation Macro F1 at each stage and round, calls, tokens, cost."""
    metrics: list[tuple[str, float, int]] = [
        ("baseline_val_macro_f1", report.baseline_val_macro_f1, 0),
        ("selected_val_macro_f1", report.selected_val_macro_f1, 0),
        ("final_val_macro_f1", report.final_val_macro_f1, 0),
        ("rules", float(len(report.rules)), 0),
        ("candidate_rules", float(len(report.candidate_rules)), 0),
        ("unique_student_queries", float(report.unique_student_queries), 0),
    ]
    for stage, rounds in (("selection", report.selection_rounds), ("repair", report.repair_rounds)):
        for item in rounds:
            if item.val_macro_f1 is not None:
                metrics.append((f"{stage}_round_val_macro_f1", item.val_macro_f1, item.round))
            if item.gain is not None:
                metrics.append((f"{stage}_round_gain", item.gain, item.round))
            if item.gain_estimate is not None:
                metrics.append((f"{stage}_round_gain_low", item.gain_estimate.low, item.round))
                metrics.append((f"{stage}_round_gain_high", item.gain_estimate.high, item.round))
    if report.confirmation is not None:
        chosen = report.confirmation.steps[report.confirmation.chosen]
        metrics += [("held_back_baseline_macro_f1", report.confirmation.baseline_macro_f1, 0),
                    ("held_back_final_macro_f1", chosen.macro_f1, 0),
                    ("final_confirmed", float(report.confirmation.final_confirmed), 0)]
    for role, totals in report.totals.items():
        for name, value in totals.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                metrics.append((_key(f"{role}_{name}"), float(value), 0))
    for phase, cost in report.phases.items():
        metrics.append((_key(f"seconds_{phase}"), cost.seconds, 0))
    return metrics


def _log(mlflow: Any, program: dspy.Module, report: RunReport, *, save_state: bool) -> str:
    mlflow.log_params(compile_params(report))
    for name, value, step in compile_metrics(report):
        mlflow.log_metric(name, value, step=step)
    mlflow.log_text(report.summary(), "pld_report_summary.txt")
    if save_state:  # the program state autologging would have logged, had it patched PLD
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder, "best_model.json")
            program.save(str(path))
            mlflow.log_artifact(str(path))
    return str(mlflow.active_run().info.run_id)


def log_compile(program: dspy.Module, report: RunReport) -> str | None:
    """Log a finished compile to MLflow when a run or compile autologging is active.

    Returns the run id (also set as ``program.pld_mlflow_run_id``), or None when nothing was logged.
    """
    mlflow = _mlflow()
    if mlflow is None:
        return None
    try:
        if mlflow.active_run() is not None:
            run_id = _log(mlflow, program, report, save_state=False)
        elif _autolog_compiles(mlflow):
            with mlflow.start_run(run_name="pld-compile"):
                run_id = _log(mlflow, program, report, save_state=True)
        else:
            return None
    except Exception as exc:  # tracking must never cost a finished compile
        logger.warning("could not log the compile to MLflow: %s: %s", type(exc).__name__, exc)
        return None
    setattr(program, RUN_ID_ATTRIBUTE, run_id)
    logger.info("logged the compile to MLflow run %s", run_id)
    return run_id


def log_artifact_folder(program: dspy.Module, folder: str | Path) -> None:
    """Attach a written artifact folder to the run its compile was logged to (if any)."""
    run_id = getattr(program, RUN_ID_ATTRIBUTE, None)
    mlflow = _mlflow()
    if run_id is None or mlflow is None:
        return
    try:
        mlflow.tracking.MlflowClient().log_artifacts(run_id, str(folder), ARTIFACT_PATH)
    except Exception as exc:
        logger.warning("could not log the artifact folder to MLflow: %s: %s", type(exc).__name__, exc)
