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
                           str(r["labels_differing"])] for name, r in measured.items() if name != "warm_up"}


def test_each_tasks_calibration_default_is_the_choice_made_on_validation_rows(scripts):
    from pld.tasks import get_task

    payload = json.loads((BENCHMARKS / "results" / "calibration.json").read_text())
    choices = scripts("calibration").choices(payload)
    assert set(choices) == {"stereoset", "logiqa", "contract_nli"}
    assert {task: get_task(task).calibrate for task in choices} == choices



@pytest.mark.parametrize("page", ["QUALITY.md", "QUALITY_POLICY.md", "QUALITY_EXPENSES.md"])
def test_the_quality_page_tables_are_what_its_results_file_writes(scripts, page):
    quality = scripts("quality")
    payload = json.loads((BENCHMARKS / "results" / f"{page.removesuffix('.md').lower()}.json").read_text(encoding="utf-8"))
    tables = (BENCHMARKS / page).read_text(encoding="utf-8").split(quality.READING)[0]
    assert tables == quality.page_text(payload) + "\n", f"run `python benchmarks/quality.py --report-only --page benchmarks/{page}`"


# -- figures written by hand ---------------------------------------------------------------------
# A hand-written section names the files its figures come from, in backticks (globs allowed, paths
# under benchmarks/); every figure it shows must be one of theirs, rounded as shown (a share may be
# shown as a percentage). Settings are written as code (`--n 24`), figures quoted from a paper sit
# under a heading that says "published".
SOURCE = re.compile(r"`((?:results|quality|calibration)/[^`\s]+\.json)`")
FIGURE = re.compile(r"(?<![\w.\-/±])[+\-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w\-]|\.\d)")
NOT_FIGURES = [re.compile(pattern) for pattern in (
    r"`[^`]*`", r"\]\([^)]*\)", r"<!--.*?-->", r"\d{4}-\d{2}-\d{2}",  # code, link targets, comments, dates
    r"\b9[059] ?%(?= (?:CI|interval|t-interval|upper|confidence|level))",  # an interval's level
    r"Gemma[- ]3|Qwen2\.5|issue \d+|§\d+|arXiv \d{4}\.\d{4,5}")]


def _numbers(value) -> list[float]:
    """Every number in a results file: its values, and the numbers inside its strings and keys."""
    if isinstance(value, dict):
        return [n for key, item in value.items() for n in _numbers(key) + _numbers(item)]
    if isinstance(value, list):
        return [n for item in value for n in _numbers(item)]
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, (int, float)):
        return [abs(float(value))]
    return [float(found) for found in re.findall(r"\d+(?:\.\d+)?", str(value))]


def _backed(shown: str, numbers: list[float]) -> bool:
    text = shown.replace(",", "").replace("−", "-").lstrip("+-")
    decimals = len(text.split(".")[1]) if "." in text else 0
    value, slack = float(text), 0.5 * 10 ** -decimals + 1e-9
    return any(abs(number * scale - value) <= slack for number in numbers for scale in (1, 100))


def _sections(page: str) -> list[tuple[str, str]]:
    text = (BENCHMARKS / page).read_text(encoding="utf-8")
    if "<!-- reading -->" in text:
        text = text.split("<!-- reading -->")[1]  # the tables above are regenerated whole
    parts = re.split(r"\n(?=## )", text)
    return [(part.splitlines()[0] if part.strip() else "", part) for part in parts]


def _unbacked(page: str) -> dict[str, list[str]]:
    sections = _sections(page)
    everything = sorted({path for _, body in sections for path in SOURCE.findall(body)})
    missing = {}
    for heading, body in sections:
        if "published" in heading:
            continue
        sources = SOURCE.findall(body) or (everything if not heading.startswith("## ") else [])
        numbers = [n for pattern in sources for path in sorted(BENCHMARKS.glob(pattern))
                   for n in _numbers(json.loads(path.read_text(encoding="utf-8")))]
        for pattern in NOT_FIGURES:
            body = pattern.sub(" ", body)
        shown = [figure for figure in FIGURE.findall(body) if not _backed(figure, numbers)]
        if shown:
            missing[heading or "(top)"] = shown
    return missing


@pytest.mark.parametrize("page", ["RESULTS.md", "QUALITY.md", "QUALITY_POLICY.md", "QUALITY_EXPENSES.md"])
def test_every_hand_written_figure_comes_from_a_results_file_the_section_names(page):
    assert _unbacked(page) == {}


# -- the README ----------------------------------------------------------------------------------
# A README paragraph (or list item) that names a results file in backticks or links a benchmark
# page quotes measurements: each figure it shows must be in those results files or in the text of
# those pages (which the tests above check against their own results files). Settings are code.
README = BENCHMARKS.parent / "README.md"
PAGE_LINK = re.compile(r"\(benchmarks/([A-Z_]+\.md)(?:#[^)]*)?\)")
TEXT_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")


def _readme_units() -> list[str]:
    text = re.sub(r"```.*?```", " ", README.read_text(encoding="utf-8"), flags=re.S)
    return [unit for paragraph in re.split(r"\n\s*\n", text) for unit in re.split(r"\n(?=\s*- )", paragraph)]


def _readme_unbacked() -> list[tuple[str, list[str]]]:
    missing = []
    for unit in _readme_units():
        pages, results = sorted(set(PAGE_LINK.findall(unit))), SOURCE.findall(unit)
        if not pages and not results:
            continue
        numbers = [n for pattern in results for path in sorted(BENCHMARKS.glob(pattern))
                   for n in _numbers(json.loads(path.read_text(encoding="utf-8")))]
        numbers += [float(found.replace(",", "")) for page in pages
                    for found in TEXT_NUMBER.findall((BENCHMARKS / page).read_text(encoding="utf-8"))]
        body = unit
        for pattern in NOT_FIGURES:
            body = pattern.sub(" ", body)
        shown = [figure for figure in FIGURE.findall(body) if not _backed(figure, numbers)]
        if shown:
            missing.append((unit.strip()[:80], shown))
    return missing


def test_every_figure_the_readme_quotes_comes_from_the_pages_or_results_it_names():
    assert _readme_unbacked() == []
