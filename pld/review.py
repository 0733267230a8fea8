"""Reading and editing compiled artifacts: show the rules, diff two artifacts, edit by hand."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import dspy

from pld.artifact import Manifest, read_manifest, write_artifact
from pld.errors import ArtifactError
from pld.render import _environment, base_instructions, with_rules


def show_text(manifest: Manifest) -> str:
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
        lines.append(f"     gain {_gain(rule.get('marginal_gain'))} · source {rule.get('source', '?')} "
                     f"{rule.get('candidate_id', '')} · from {len(rule.get('example_keys') or ())} training example(s)")
    return "\n".join(lines)


def show_markdown(manifest: Manifest) -> str:
    return _environment().get_template("review.md.j2").render(m=manifest, score=_score, gain=_gain)


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _gain(value: float | None) -> str:
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


def edit_rules(path: str | Path, rules: list[str]) -> Manifest:
    """Replace an artifact's rules by hand, re-render the program, and re-seal it as edited."""
    from pld.tasks import get_task

    path = Path(path)
    manifest = read_manifest(path)
    rules = [r.strip() for r in rules if r.strip()]
    fresh = get_task(manifest.task).make_program(manifest.strategy)
    program: dspy.Module = with_rules(fresh, base_instructions(fresh), rules)
    old = {rule["text"]: rule for rule in manifest.rules}
    fields = manifest.model_dump(exclude={"schema_version", "pld_version", "dspy_version", "python_version",
                                          "created_at", "checksums", "checksum"})
    fields.update(
        rules=[old.get(text, {"text": text, "source": "hand-edit", "marginal_gain": None}) for text in rules],
        edited_by_hand=True,
        final_val_macro_f1=None,  # no longer measured: re-score with `pld evaluate ARTIFACT`
    )
    files = {name: (path / name).read_text(encoding="utf-8") for name in manifest.checksums if name != "program.json"}
    write_artifact(path, program, files, fields)
    return read_manifest(path)


def rules_of(path: str | Path) -> list[str]:
    return [rule["text"] for rule in read_manifest(path).rules]


def read_rules_file(path: str | Path) -> list[str]:
    file = Path(path)
    if not file.is_file():
        raise ArtifactError(f"No rules file at {file}: write one rule per line.")
    text = file.read_text(encoding="utf-8")
    if file.suffix == ".json":
        try:
            return [str(rule) for rule in json.loads(text)]
        except (json.JSONDecodeError, TypeError) as exc:
            raise ArtifactError(f"{file} is not a JSON list of rules: {exc}") from exc
    return [line for line in text.splitlines() if line.strip()]
