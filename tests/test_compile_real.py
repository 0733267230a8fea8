"""A real, tiny PLD compile with the embedded teacher and student, written as an artifact."""

from __future__ import annotations

import json

import pytest

import pld
from pld.config import JOB_DEFAULTS
from pld.jobs import CompileSettings, compile_task

pytest.importorskip("llama_cpp")


@pytest.mark.model
def test_a_real_compile_writes_an_artifact_never_below_its_baseline(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    settings = CompileSettings(n_train=3, n_val=6, data_dir=str(data_dir),
                               pld=JOB_DEFAULTS.replace(max_candidates=2, max_rules=1, max_repair_rounds=1))
    path = compile_task("stereoset", tmp_path / "artifact", settings)
    report = json.loads((path / "report.json").read_text())
    assert report["final_val_macro_f1"] >= report["baseline_val_macro_f1"]
    assert len(report["traces"]) == 3 and report["candidate_rules"]
    counted = sum(phase["usage"].get("student", {}).get("calls", 0) for phase in report["phases"].values())
    assert counted == report["totals"]["student"]["calls"] == report["unique_student_queries"]
    assert report["totals"]["teacher"]["calls"] >= 3
    for file in path.iterdir():
        assert "sk-must-not-leak" not in file.read_text()
    engine = json.loads((path / "manifest.json").read_text())["engine"]  # scores near ties depend on the build
    assert engine["llama_cpp_python"] and "AVX2" in engine["compiled_for"].split() or engine["cpu"].startswith("aarch64")
    program = pld.load(path)
    item = {"target": "chess player", "context": "The chess player was BLANK.", "sentence": "The chess player was fox."}
    assert program(**item).label in ("stereotype", "anti-stereotype", "unrelated")
