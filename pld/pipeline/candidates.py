"""Candidate synthesis: the rules greedy selection may choose from, screened and de-duplicated.

Three sources, in the order they are offered (at most ``max_candidates`` in all):
1. rules mined from the labelled training data (``pld.pipeline.mining``), at most half the slots:
   field-value patterns a teacher reading one example at a time does not see, and where two or
   more were mined, those rules as one decision list (a candidate of several lines);
2. the teacher's merge of each cluster of micro-rules (``pld.pipeline.clustering``), largest first;
3. micro-rules that joined no cluster (small runs), then any mined rules left over.
Every text passes hygiene (``pld.pipeline.hygiene``) first; a rejected one is recorded in
``refused`` with its reason, never handed to selection.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

import dspy

from pld.budget import CallBudget
from pld.faults import raise_if_backend_fault, redact
from pld.pipeline.clustering import Embedder, cluster_traces, trace_label
from pld.pipeline.hygiene import (RuleProblem, near_duplicates, predicts_label, rejected, restates_input, rule_problem,
                                  screen_traces)
from pld.pipeline.mining import MinedRule, decision_list
from pld.pipeline.teacher import Teacher
from pld.rules import CandidateRule, RejectedRule, Trace

logger = logging.getLogger(__name__)

Added = Literal["added", "duplicate", "rejected"]


class MergeFailures:
    """Cluster merges the teacher could not answer: counted for the report."""

    def __init__(self) -> None:
        self.count = 0


def synthesize_candidates(teacher: Teacher, teacher_lm: dspy.BaseLM, budget: CallBudget, traces: Sequence[Trace],
                          mined: Sequence[MinedRule], *, task: str, labels: Sequence[str], embedder: Embedder | None,
                          eps: float, min_samples: int, max_candidates: int, refused: list[RejectedRule],
                          merge_failures: MergeFailures | None = None) -> list[CandidateRule]:
    """The candidates selection gets; rejected texts go to ``refused``."""
    usable, dropped = screen_traces(traces, labels)
    refused.extend(dropped)
    pool = _Pool(labels, refused, max_candidates)
    slots = max(1, max_candidates // 2)
    listed = mined[:slots] if slots >= 2 and len(mined) >= 2 else []
    singles = slots - 1 if listed else slots
    for rule in mined[:singles]:
        pool.add_mined(rule)
    if listed:
        pool.add_mined_list(listed)
    clusters, noise = cluster_traces(usable, embedder, eps=eps, min_samples=min_samples)
    for cluster in clusters:
        if pool.full:
            break
        micro = tuple(t.micro_rule for t in cluster.traces)
        try:
            budget.charge()
            with dspy.context(lm=teacher_lm):
                text = teacher.merge_rules(task, micro)
        except Exception as exc:  # noqa: BLE001 - fall back to the cluster's first micro-rule
            raise_if_backend_fault(exc, teacher_lm)  # a teacher that cannot answer at all ends the run
            logger.warning("merging a cluster failed (%s); using its first micro-rule", redact(str(exc)))
            if merge_failures is not None:
                merge_failures.count += 1
            text = micro[0]
        if pool.add(text or micro[0], "cluster", cluster.traces) == "rejected":
            pool.add(micro[0], "cluster", cluster.traces)  # screened already
    for trace in noise:
        if pool.full:
            break
        pool.add(trace.micro_rule, "micro-rule", (trace,))
    for rule in mined[singles:]:
        if pool.full:
            break
        pool.add_mined(rule)
    logger.info("%d candidate rules (%d mined from the training labels)", len(pool.candidates),
                sum(c.source == "mined" for c in pool.candidates))
    return pool.candidates


class _Pool:
    def __init__(self, labels: Sequence[str], refused: list[RejectedRule], limit: int):
        self.labels, self.refused, self.limit = labels, refused, limit
        self.candidates: list[CandidateRule] = []
        self.seen: set[str] = set()

    @property
    def full(self) -> bool:
        return len(self.candidates) >= self.limit

    def add_mined(self, rule: MinedRule) -> Added:
        return self._keep(rule.text, "mined", rule.example_keys, (), rule.evidence,
                          problem=rule_problem(rule.text, self.labels, [rule.field]))

    def add_mined_list(self, rules: Sequence[MinedRule]) -> Added:
        problem = next((p for r in rules if (p := rule_problem(r.text, self.labels, [r.field]))), None)
        keys = tuple(dict.fromkeys(key for rule in rules for key in rule.example_keys))
        evidence = (f"the {len(rules)} mined rules as one decision list, in the order mined: "
                    + "; ".join(rule.evidence for rule in rules))
        return self._keep(decision_list(rules), "mined", keys, (), evidence, problem=problem)

    def add(self, text: str, source: Literal["cluster", "micro-rule"], traces: Sequence[Trace]) -> Added:
        return self._keep(text, source, tuple(t.example_key for t in traces), tuple(t.micro_rule for t in traces),
                          None, problem=candidate_problem(self.candidates, text, traces, self.labels))

    def _keep(self, text: str, source: Literal["cluster", "micro-rule", "mined"], keys: tuple[str, ...],
              micro_rules: tuple[str, ...], evidence: str | None, *, problem: RuleProblem | None) -> Added:
        if self.full:
            return "duplicate"
        if problem is not None:
            self.refused.append(rejected(text, problem, "candidate", keys))
            return "rejected"
        key = text.lower()
        if key in self.seen:
            return "duplicate"
        self.seen.add(key)
        self.candidates.append(CandidateRule(
            id=f"C{len(self.candidates) + 1}", text=text, source=source,
            cluster_size=len(micro_rules) if micro_rules else len(keys), example_keys=keys,
            micro_rules=micro_rules, evidence=evidence))
        return "added"


def candidate_problem(candidates: Sequence[CandidateRule], text: str, traces: Sequence[Trace],
                      labels: Sequence[str]) -> RuleProblem | None:
    """Hygiene (``pld.pipeline.hygiene``) with what only the pipeline knows: the input field names and
    texts of the rule's training examples, their label, and the candidates already kept."""
    fields = sorted({name for trace in traces for name in trace.inputs})
    if problem := rule_problem(text, labels, fields) or restates_input(text, [trace.inputs for trace in traces]):
        return problem
    expected = {trace_label(trace) for trace in traces} - {None}
    if len(expected) == 1 and (problem := predicts_label(text, expected.pop(), labels)):
        return problem
    if text.lower() in {c.text.lower() for c in candidates}:
        return None  # an exact repeat is skipped quietly by the caller
    duplicate = near_duplicates([*(c.text for c in candidates), text]).get(len(candidates))
    if duplicate is None:
        return None
    index, cosine = duplicate
    return RuleProblem(kind="near-duplicate",
                       reason=f"near-duplicate of {candidates[index].id} (TF-IDF cosine {cosine:.2f}): "
                              f"{candidates[index].text!r}")
