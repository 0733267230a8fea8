"""The review page as one self-contained HTML file (``pld show ARTIFACT --format html``).

Everything a reviewer checks before trusting a rule list, with no server and no network: each rule
with its gain and interval at acceptance and where it came from (the candidate, the micro-rules
merged into it, their training examples and the teacher's rationales), the candidates that never
reached the student and why, the confusion matrices before and after, and Macro F1 by step on the
validation and held-back examples. Rule and example text is training data: the template escapes
every value (Jinja2 autoescaping), so a rule holding ``<script>`` is shown as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jinja2

from pld.artifacts.manifest import Manifest
from pld.artifacts.report import RunReport
from pld.artifacts.review import rule_gain
from pld.rules import CandidateRule, Trace


@dataclass(frozen=True)
class Point:
    step: int
    value: float


def f1_by_step(report: RunReport) -> dict[str, list[Point]]:
    """Validation Macro F1 after each accepted rule (step 0: no rules), and the held-back score of
    each step where confirmation measured it."""
    validation = [Point(0, report.baseline_val_macro_f1)]
    for round_ in report.selection_rounds:
        if round_.accepted and round_.val_macro_f1 is not None:
            validation.append(Point(len(validation), round_.val_macro_f1))
    held_back = ([Point(index, step.macro_f1) for index, step in enumerate(report.confirmation.steps)]
                 if report.confirmation is not None else [])
    return {"validation": validation, "held-back": held_back}


def plot_svg(series: dict[str, list[Point]], width: int = 520, height: int = 220) -> dict[str, Any]:
    """Coordinates for an inline SVG line plot (the template draws it): axes 0..1 and the steps."""
    steps = max((point.step for points in series.values() for point in points), default=0)
    left, right, top, bottom = 44, 16, 12, 28

    def x(step: int) -> float:
        return left + (width - left - right) * (step / steps if steps else 0.5)

    def y(value: float) -> float:
        return top + (height - top - bottom) * (1 - value)

    lines = {name: [{"x": round(x(p.step), 1), "y": round(y(p.value), 1), "step": p.step, "value": p.value}
                    for p in points] for name, points in series.items() if points}
    ticks = [{"y": round(y(v), 1), "label": f"{v:.2f}"} for v in (0.0, 0.25, 0.5, 0.75, 1.0)]
    xticks = [{"x": round(x(step), 1), "label": str(step)} for step in range(steps + 1)]
    return {"width": width, "height": height, "lines": lines, "ticks": ticks, "xticks": xticks,
            "left": left, "right": width - right, "top": top, "bottom": height - bottom}


def provenance(report: RunReport, candidate_id: str | None) -> dict[str, Any] | None:
    """The candidate a rule came from, its micro-rules, and their training examples with rationales."""
    candidate = next((c for c in report.candidate_rules if c.id == candidate_id), None)
    if candidate is None:
        return None
    traces = _traces_of(report.traces, candidate)
    return {"candidate": candidate, "traces": traces,
            "examples": report.example_refs(list(candidate.example_keys)) if candidate.source == "mined" else []}


def _traces_of(traces: Sequence[Trace], candidate: CandidateRule) -> list[Trace]:
    keys = set(candidate.example_keys)
    return [trace for trace in traces if trace.example_key in keys]


def review_page(manifest: Manifest, report: RunReport | None, *, live: bool = False) -> str:
    """The whole page as one string (UTF-8 HTML, styles inline, no external resource; no script
    unless ``live``: the review app's page adds the editor, whose script sets text only)."""
    environment = jinja2.Environment(loader=jinja2.PackageLoader("pld", "templates"),
                                     autoescape=jinja2.select_autoescape(default=True), trim_blocks=True,
                                     lstrip_blocks=True)
    rules = []
    for number, rule in enumerate(manifest.rules, 1):
        rules.append({"number": number, "text": rule["text"], "gain": rule_gain(rule), "source": rule.get("source", "?"),
                      "candidate_id": rule.get("candidate_id"),
                      "provenance": provenance(report, rule.get("candidate_id")) if report else None})
    kept = {rule.get("candidate_id") for rule in manifest.rules}
    return environment.get_template("review.html.j2").render(
        m=manifest, report=report, rules=rules,
        unused=[c for c in (report.candidate_rules if report else []) if c.id not in kept],
        plot=plot_svg(f1_by_step(report)) if report else None, live=live)
