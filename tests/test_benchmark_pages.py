"""Benchmark pages say what their committed results files say.

Pages that a script writes are regenerated from the results file and must match byte for byte (a
hand edit, or a results file replaced without rewriting its page, fails here); tables written by
hand are checked figure by figure against their results file.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
GENERATED = [("main_job", "main_job.json", "MAIN_JOB.md"), ("user_program", "user_program.json", "USER_PROGRAM.md"),
             ("policy_probe", "policy_probe.json", "POLICY_PROBE.md"),
             ("calibration", "calibration.json", "CALIBRATION.md")]


@pytest.fixture(scope="module")
def scripts():
    sys.path.insert(0, str(BENCHMARKS))
    yield lambda name: importlib.import_module(name)
    sys.path.remove(str(BENCHMARKS))


@pytest.mark.parametrize(("script", "results", "page"), GENERATED)
def test_a_generated_page_is_what_its_results_file_writes(scripts, script, results, page):
    payload = json.loads((BENCHMARKS / "results" / results).read_text(encoding="utf-8"))
    expected = scripts(script).page_text(payload)
    assert (BENCHMARKS / page).read_text(encoding="utf-8") == expected, (
        f"{page} differs from what benchmarks/{script}.py writes from results/{results}: "
        f"run `python benchmarks/{script}.py --report-only`")


def test_the_cli_start_up_table_matches_its_results_file():
    measured = json.loads((BENCHMARKS / "results" / "cli_startup.json").read_text())
    section = (BENCHMARKS / "RESULTS.md").read_text().split("## CLI start-up")[1].split("\n## ")[0]
    rows = re.findall(r"^\| `(.+?)`(?: \(reference\))? \| ([\d.]+) \| ([\d.]+) \|$", section, re.M)
    shown = {name.replace('"', "'"): (seconds, ratio) for name, seconds, ratio in rows}
    assert shown == {name: (f"{seconds:.3f}", f"{measured['ratio_to_bare_python'][name]:.1f}")
                     for name, seconds in measured["seconds"].items()}


def test_the_pool_latency_table_matches_its_results_file():
    measured = json.loads((BENCHMARKS / "results" / "pool_latency.json").read_text())
    section = (BENCHMARKS / "RESULTS.md").read_text().split("## A pool vs one of its servers")[1].split("\n## ")[0]
    rows = {row[0]: row[1:5] for row in (line.strip("| ").split(" | ") for line in section.splitlines()
                                          if line.startswith("| ") and not line.startswith("| decoding"))}
    assert rows == {name: [f"{r['one_server_call_s']:.3f}", f"{r['pool_call_s']:.3f}", f"{r['ratio']:.2f}",
                           str(r["labels_differing"])] for name, r in measured.items()}


def test_each_tasks_calibration_default_is_the_choice_made_on_validation_rows(scripts):
    from pld.tasks import get_task

    payload = json.loads((BENCHMARKS / "results" / "calibration.json").read_text())
    choices = scripts("calibration").choices(payload)
    assert set(choices) == {"stereoset", "logiqa", "contract_nli"}
    assert {task: get_task(task).calibrate for task in choices} == choices

