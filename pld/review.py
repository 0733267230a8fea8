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
    """Lines describing added, removed, reworded and reordered rules."""
    lines: list[str] = []
    removed = [r for r in before if r not in after]
    added = [r for r in after if r not in before]
    for old in list(removed):
        match = max(added, key=lambda new: difflib.SequenceMatcher(None, old, new).ratio(), default=None)
        if match is not None and difflib.SequenceMatcher(None, old, match).ratio() >= 0.6:
            lines.append(f"~ reworded (#{before.index(old) + 1} -> #{after.index(match) + 1}): {old!r} -> {match!r}")
            removed.remove(old)
            added.remove(match)
    lines += [f"- removed (#{before.index(r) + 1}): {r}" for r in removed]
    lines += [f"+ added (#{after.index(r) + 1}): {r}" for r in added]
    common_before = [r for r in before if r in after]
    common_after = [r for r in after if r in before]
    if common_before != common_after:
        lines += [f"↕ reordered: #{before.index(r) + 1} -> #{after.index(r) + 1}: {r}"
                  for r in common_after if before.index(r) != after.index(r)]
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
