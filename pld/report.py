"""The typed run report returned with every compiled program."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from pld.metrics import LabelScores
from pld.repair import RepairRound
from pld.rules import CandidateRule, SelectedRule, Trace
from pld.selection import SelectionRound


class PhaseCost(BaseModel):
    """Wall time of a phase and the calls/tokens each role spent in it."""

    seconds: float
    usage: dict[str, dict[str, Any]]


class RunReport(BaseModel):
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

    def summary(self) -> str:
        """A few lines for logs and the terminal."""
        lines = [
            f"validation Macro F1: baseline {self.baseline_val_macro_f1:.4f} -> "
            f"selected {self.selected_val_macro_f1:.4f} -> final {self.final_val_macro_f1:.4f}",
            f"rules: {len(self.rules)} selected from {len(self.candidate_rules)} candidates "
            f"({self.selection_stop_reason})",
        ]
        for role, totals in self.totals.items():
            lines.append(f"{role}: {totals['calls']} calls ({totals['cache_hits']} cached), "
                         f"{totals['input_tokens']} prompt + {totals['output_tokens']} completion tokens")
        return "\n".join(lines)
