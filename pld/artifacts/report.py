"""The typed run report returned with every compiled program."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from pld.backends.endpoint_stats import EndpointStats
from pld.backends.label_paths import LabelPaths, describe_label_paths
from pld.metrics import LabelScores
from pld.pipeline.confirm import Confirmation
from pld.pipeline.repair import RepairRound
from pld.rules import CandidateRule, ExampleRef, RejectedRule, SelectedRule, Trace, excerpt
from pld.pipeline.selection import SelectionRound


class PhaseCost(BaseModel):
    """Wall time of a phase and the calls/tokens each role spent in it."""

    seconds: float
    usage: dict[str, dict[str, Any]]


class RunReport(BaseModel):
    """Everything a run did, so a reviewer can trace each rule back to the training examples it
    came from, see every rule text that was refused (``rejected_rules``), each rule's gain with its
    interval, and whatever the held-back examples overruled (``warnings``, ``confirmation``)."""

    label_field: str
    labels: list[str]
    trace_mode: str
    settings: dict[str, Any]
    teacher_model: str
    student_model: str
    n_train: int
    n_val: int
    estimate: dict[str, int]
    baseline_val_macro_f1: float
    selected_val_macro_f1: float
    final_val_macro_f1: float
    final_val_scores: LabelScores
    baseline_val_scores: LabelScores | None = None  # the program without rules on the same examples (review's "before")
    rules: list[SelectedRule]
    candidate_rules: list[CandidateRule]
    traces: list[Trace]
    teacher_accuracy: float | None
    selection_rounds: list[SelectionRound]
    selection_stop_reason: str
    repair_rounds: list[RepairRound]
    phases: dict[str, PhaseCost]
    totals: dict[str, dict[str, Any]]
    unique_student_queries: int
    rejected_rules: list[RejectedRule] = []
    warnings: list[str] = []
    n_held_back: int = 0  # validation examples held back from selection to confirm the final list
    confirmation: Confirmation | None = None
    # A user's own DSPy metric (PLD(metric=callable)): its name and its mean on the validation examples
    # the returned program answered; rules are still selected by Macro F1 over the label field.
    metric_name: str | None = None
    metric_val_score: float | None = None
    final_answers: dict[str, str | None] = {}  # the returned program's answers by example key (validation)
    # Selection examples the empty list (baseline) was scored on: fewer than n_val when racing
    # dropped every list early. Scores of a program without rules are on these. None: all of them.
    baseline_val_examples: int | None = None
    endpoints: dict[str, list[EndpointStats]] | None = None  # per role on several servers: calls, failures, failovers
    # A served student: how its labels were decoded during the compile, and why scoring fell back
    # (pld.backends.label_paths); None for an embedded or chat student.
    label_decoding: LabelPaths | None = None

    def example_refs(self, keys: Sequence[str]) -> list[ExampleRef]:
        """The training examples behind ``keys``: id and a short excerpt, from the run's traces.

        Examples with identical inputs share a key; its n-th occurrence in ``keys`` names the n-th
        trace with that key, so a cluster of duplicates still lists each example's own id.
        """
        by_key: dict[str, list[Trace]] = {}
        for trace in self.traces:
            by_key.setdefault(trace.example_key, []).append(trace)
        seen: dict[str, int] = {}
        refs = []
        for key in keys:
            traces = by_key.get(key)
            if not traces:
                refs.append(ExampleRef(key=key, id=None, excerpt="(no trace recorded)"))
                continue
            trace = traces[seen.get(key, 0) % len(traces)]
            seen[key] = seen.get(key, 0) + 1
            refs.append(ExampleRef(key=key, id=trace.example_id, excerpt=excerpt(trace.inputs)))
        return refs

    def baseline_coverage(self) -> str:
        """' (on k of n examples)' when the baseline was scored on part of validation (racing needed
        no more, or the student budget ran out: see the stop reason), else ''."""
        k = self.baseline_val_examples
        return "" if k is None or k >= self.n_val else f" (on {k} of {self.n_val} examples)"

    def summary(self) -> str:
        """A few lines for logs and the terminal."""
        lines = [
            f"validation Macro F1: baseline {self.baseline_val_macro_f1:.4f}{self.baseline_coverage()} -> "
            f"selected {self.selected_val_macro_f1:.4f} -> final {self.final_val_macro_f1:.4f}",
            f"rules: {len(self.rules)} selected from {len(self.candidate_rules)} candidates "
            f"({self.selection_stop_reason})",
        ]
        if self.confirmation is not None:
            lines.append(f"confirmation ({self.n_held_back} held-back examples): {self.confirmation.note}")
        if self.rejected_rules:
            stages = sorted({rule.stage for rule in self.rejected_rules})
            lines.append(f"rejected: {len(self.rejected_rules)} rule texts ({', '.join(stages)}); see report.md")
        lines += [f"warning: {warning}" for warning in self.warnings]
        for role, totals in self.totals.items():
            lines.append(f"{role}: {totals['calls']} calls ({totals['cache_hits']} cached), "
                         f"{totals['input_tokens']} prompt + {totals['output_tokens']} completion tokens")
        for role, endpoints in (self.endpoints or {}).items():
            lines += [f"{role} endpoint {stats.describe()}" for stats in endpoints]
        if self.label_decoding is not None:
            lines.append(f"student label paths: {describe_label_paths(self.label_decoding)}")
        return "\n".join(lines)
