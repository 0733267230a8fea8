"""Where every rule of a run came from, for a reviewer: candidates with the training examples
behind them, every micro-rule, and every rejected rule text with its reason (``pld show --all``).

The manifest records only the selected rules; the run report (``report.json``, sealed by the
manifest's checksums) holds the rest.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from pld.artifacts.artifact import Manifest
from pld.errors import ArtifactError
from pld.artifacts.report import RunReport
from pld.rules import ExampleRef, excerpt


def read_report(path: str | Path, manifest: Manifest) -> RunReport | None:
    """The run report of an artifact, or None when it holds none (a hand-made artifact, or
    another optimizer's). Call after ``read_manifest``, which checked the file's checksum."""
    if "report.json" not in manifest.checksums:
        return None
    file = Path(path) / "report.json"
    try:
        return RunReport.model_validate_json(file.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise ArtifactError(f"{file} is not a run report this PLD can read: {detail}") from exc


def ref_text(ref: ExampleRef) -> str:
    """One training example on one line: id (when the data has one), key, excerpt."""
    return ("" if ref.id is None else f"id {ref.id} · ") + f"{ref.key} · \"{ref.excerpt}\""


def hint_line(report: RunReport) -> str:
    """What default ``pld show`` says about the rest of the report."""
    return (f"{len(report.candidate_rules)} candidate rules from {len(report.traces)} traced examples, "
            f"{len(report.rejected_rules)} rule texts rejected: `pld show --all` lists them with their sources")


def provenance_lines(report: RunReport) -> list[str]:
    """Every candidate with its examples and micro-rules, every trace, every rejection."""
    lines = [f"Candidate rules ({len(report.candidate_rules)}), with the training examples they came from:"]
    for candidate in report.candidate_rules:
        lines.append(f"  {candidate.id} [{candidate.source}, {candidate.cluster_size} example(s)] {candidate.text}")
        if candidate.source == "mined":
            lines.append(f"      mined from the training labels: {candidate.evidence}")
            continue
        micro = list(candidate.micro_rules)
        for index, ref in enumerate(report.example_refs(candidate.example_keys)):
            lines.append(f"      from {ref_text(ref)}")
            if index < len(micro):
                lines.append(f"        micro-rule: {micro[index]}")
    lines += ["", f"Micro-rules of every traced training example ({len(report.traces)}):"]
    for trace in report.traces:
        who = ("" if trace.example_id is None else f"id {trace.example_id} · ") + trace.example_key
        lines.append(f"  {who} · gold {trace.gold_label or '-'} · \"{excerpt(trace.inputs)}\"")
        lines.append(f"      micro-rule: {trace.micro_rule or '(none)'}")
    lines += ["", f"Rejected rule texts ({len(report.rejected_rules)}): never shown to the student"]
    for rule in report.rejected_rules:
        stage = rule.stage + (f", repair round {rule.round}" if rule.round is not None else "")
        lines.append(f"  [{stage}] {rule.kind}: {rule.text or '(empty)'}")
        lines.append(f"      why: {rule.reason}")
        lines += [f"      from {ref_text(ref)}" for ref in report.example_refs(rule.example_keys)]
    return lines
