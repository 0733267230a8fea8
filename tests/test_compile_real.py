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


@pytest.mark.model
def test_the_default_student_learns_a_house_policy_rule_from_a_real_compile(tmp_path, data_dir):
    """The README's main job in small: the default 1.5B student and teacher on the support-routing
    policy. The rule mined from the training labels ("Enterprise plan -> priority") must enter with a
    credible gain (Holm level over the round's lists), and the artifact must load and apply it."""
    settings = CompileSettings(n_train=120, n_val=60, data_dir=str(data_dir),
                               pld=JOB_DEFAULTS.replace(max_candidates=2, max_rules=1, max_repair_rounds=0,
                                                        max_traces=2, confirm_fraction=0.0))
    path = compile_task("policy_support", tmp_path / "artifact", settings)
    report = json.loads((path / "report.json").read_text())
    assert [rule["text"] for rule in report["rules"]] == [
        "If the plan is Enterprise, the answer is priority; if the plan is not Enterprise, the answer is never "
        "priority."]
    (accepted,) = [r for r in report["selection_rounds"] if r["accepted"]]
    assert accepted["gain_estimate"]["low"] > 0 and accepted["holm_level"] <= 0.025
    assert report["final_val_macro_f1"] > report["baseline_val_macro_f1"] + 0.05
    program = pld.load(path)
    ticket = {"plan": "Enterprise", "channel": "email", "message": "Please send me a corrected invoice for March."}
    assert program(**ticket).queue == "priority"
