"""MLflow logging of a PLD compile, read back from a local file store.

Each case runs in a fresh interpreter, because what is logged depends on whether
``mlflow.dspy.autolog()`` was called before or after ``import pld``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")
os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # the reading client in this process

TESTS = Path(__file__).resolve().parent

SCRIPT = """
import json, os, sys, tempfile
sys.path.insert(0, {tests!r})
import mlflow
mlflow.set_tracking_uri({uri!r})
mode = {mode!r}
if mode == "autolog-before":
    mlflow.dspy.autolog(log_compiles=True)
import dspy
import pld
from pld.tracking import log_artifact_folder
from pld.metrics import macro_f1
from fakes import ToySignature, function_lm, rule_following_student, rule_writing_teacher, toy_examples
if mode == "autolog-after":
    mlflow.dspy.autolog(log_compiles=True)
teacher, _ = function_lm(rule_writing_teacher, "teacher")
student, _ = function_lm(rule_following_student, "student")
optimizer = pld.PLD(teacher_lm=teacher, student_lm=student, metric=macro_f1("label", ["pos", "neg"]),
                    min_gain=0.01, max_repair_rounds=1, progress=False)
def run():
    return optimizer.compile(dspy.Predict(ToySignature), trainset=toy_examples(6, 6),
                             valset=toy_examples(start=100))
if mode == "run":
    with mlflow.start_run() as active:
        compiled = run()
else:
    compiled = run()
folder = tempfile.mkdtemp()
compiled.save(os.path.join(folder, "program.json"))
log_artifact_folder(compiled, folder)
print(json.dumps({{"run_id": getattr(compiled, "pld_mlflow_run_id", None),
                   "final": compiled.pld_report.final_val_macro_f1,
                   "rounds": len(compiled.pld_report.selection_rounds)}}))
"""


def _compile_in_subprocess(tmp_path: Path, mode: str) -> tuple[dict, str]:
    uri = f"file://{tmp_path}/mlruns"
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", DSPY_CACHEDIR=str(tmp_path / "cache"),
               MLFLOW_TRACKING_URI=uri, MLFLOW_ALLOW_FILE_STORE="true")  # MLflow 3.18: file stores opt in
    code = textwrap.dedent(SCRIPT.format(tests=str(TESTS), uri=uri, mode=mode))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), uri


@pytest.mark.parametrize("mode", ["autolog-before", "autolog-after", "run"])
def test_a_compile_logs_settings_scores_costs_and_artifact(tmp_path: Path, mode: str) -> None:
    result, uri = _compile_in_subprocess(tmp_path, mode)
    assert result["run_id"], f"nothing logged ({mode})"
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    run = client.get_run(result["run_id"])
    params, metrics = run.data.params, run.data.metrics

    assert params["pld.max_rules"] and params["pld.seed"] == "0" and params["pld.min_gain"] == "0.01"
    assert params["pld.n_train"] == "12" and params["pld.student_model"] == "test/student"
    assert metrics["final_val_macro_f1"] == pytest.approx(result["final"])
    for name in ("baseline_val_macro_f1", "selected_val_macro_f1", "teacher_calls", "student_calls",
                 "student_input_tokens", "teacher_output_tokens"):
        assert name in metrics, name
    history = client.get_metric_history(result["run_id"], "selection_round_val_macro_f1")
    assert len(history) >= 1 and sorted(m.step for m in history) == [m.step for m in sorted(history, key=lambda m: m.step)]
    artifacts = {item.path for item in client.list_artifacts(result["run_id"])}
    assert "pld_artifact" in artifacts
    assert [item.path for item in client.list_artifacts(result["run_id"], "pld_artifact")] == ["pld_artifact/program.json"]
    if mode.startswith("autolog"):
        assert "best_model.json" in artifacts  # autologging's own record, or ours in its place


def test_nothing_is_logged_without_mlflow_or_without_a_run(monkeypatch: pytest.MonkeyPatch) -> None:
    import dspy

    from pld.tracking import log_artifact_folder, log_compile

    program = dspy.Module()
    monkeypatch.delitem(sys.modules, "mlflow")  # never imported: no run or autologging can be active
    assert log_compile(program, object()) is None  # type: ignore[arg-type]
    monkeypatch.undo()
    assert mlflow.active_run() is None
    assert log_compile(program, object()) is None  # type: ignore[arg-type]
    log_artifact_folder(program, "does-not-matter")  # no run id recorded: nothing to do
