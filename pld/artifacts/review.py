"""Reading compiled artifacts: show the rules, diff two artifacts (hand edits: ``pld.artifacts.edit``)."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pld.artifacts.artifact import Manifest, read_manifest
from pld.artifacts.provenance import hint_line, provenance_lines
from pld.pipeline.render import _environment
from pld.artifacts.report import RunReport
from pld.artifacts.report_markdown import template_helpers


def show_text(manifest: Manifest, report: RunReport | None = None, *, full: bool = False) -> str:
    """Rules, gains, provenance and scores; with ``report``, its warnings too, and with ``full``
    every candidate, micro-rule and rejected rule text with the training examples behind it."""
    lines = [
        f"PLD artifact · task {manifest.task} · student {manifest.student_model} · teacher {manifest.teacher_model}",
        f"validation Macro F1: baseline {_score(manifest.baseline_val_macro_f1)}, final {_score(manifest.final_val_macro_f1)}"
        + ("  (rules edited by hand after scoring)" if manifest.edited_by_hand else ""),
        f"labels: {', '.join(manifest.labels)}",
        "",
        "Rules, in the order the student reads them:" if manifest.rules else "No rules: the program keeps its own instructions.",
    ]
    for number, rule in enumerate(manifest.rules, 1):
        lines.append(f"{number:>3}. {rule['text']}")
        lines.append(f"     gain {rule_gain(rule)} · source {rule.get('source', '?')} "
                     f"{rule.get('candidate_id', '')} · from {len(rule.get('example_keys') or ())} training example(s)")
    if report is not None:
        extra = [f"warning: {warning}" for warning in report.warnings]
        if report.confirmation is not None and report.confirmation.final_confirmed:
            extra.append(f"confirmation: {report.confirmation.note}")
        extra += ([""] if extra else []) + provenance_lines(report) if full else [hint_line(report)]
        lines += ["", *extra]
    return "\n".join(lines)


def show_markdown(manifest: Manifest, report: RunReport | None = None, *, full: bool = False) -> str:
    """The review document; ``report`` and ``full`` as for ``show_text``."""
    return _environment().get_template("review.md.j2").render(
        m=manifest, score=_score, gain=rule_gain, report=report, full=full, **template_helpers())


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def rule_gain(rule: dict[str, Any]) -> str:
    """A manifest rule's gain when added, with its interval when the run measured one."""
    estimate = rule.get("gain_estimate")
    if estimate:
        from pld.rules import GainEstimate

        return GainEstimate.model_validate(estimate).describe()
    value = rule.get("marginal_gain")
    return "n/a" if value is None else f"{value:+.4f}"


def diff_rules(before: list[str], after: list[str]) -> list[str]:
    """Lines describing reworded, removed, added and reordered rules (order among matched rules)."""
    lines: list[str] = []
    matches = {before.index(r): after.index(r) for r in before if r in after}  # old index -> new index
    removed = [i for i in range(len(before)) if i not in matches]
    added = [j for j in range(len(after)) if j not in matches.values()]
    for i in list(removed):
        ratio, j = max(((difflib.SequenceMatcher(None, before[i], after[j]).ratio(), j) for j in added), default=(0, None))
        if j is not None and ratio >= 0.6:
            lines.append(f"~ reworded (#{i + 1} -> #{j + 1}): {before[i]!r} -> {after[j]!r}")
            matches[i] = j
            removed.remove(i)
            added.remove(j)
    lines += [f"- removed (#{i + 1}): {before[i]}" for i in removed]
    lines += [f"+ added (#{j + 1}): {after[j]}" for j in added]
    old_rank = {i: rank for rank, i in enumerate(sorted(matches))}
    new_rank = {i: rank for rank, i in enumerate(sorted(matches, key=matches.get))}
    lines += [f"↕ reordered: #{i + 1} -> #{matches[i] + 1}: {after[matches[i]]}"
              for i in sorted(matches) if old_rank[i] != new_rank[i]]
    return lines or ["no differences in the rules"]


def rules_of(path: str | Path) -> list[str]:
    return [rule["text"] for rule in read_manifest(path).rules]


def __getattr__(name: str) -> Any:
    """Edits live in pld.artifacts.edit (it imports DSPy); old imports from here keep working."""
    if name in ("edit_rules", "read_rules_file"):
        from pld.artifacts import edit

        return getattr(edit, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
