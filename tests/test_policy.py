"""House-policy tasks and the pieces that let a teacher's rule about them survive: generated data,
categorical fields kept in micro-rules, label-pure clusters, rules that must predict their own
example's label, label spellings, and the multiplicity-corrected gain test (exact logic, no model)."""

from __future__ import annotations

import json
from collections import Counter

import dspy
import pytest

from pld.backends.decoding import canonical_label, choice_grammar, label_spellings, prefix_tokens
from pld.errors import DataError
from pld.metrics import slice_accuracy
from pld.budget import CallBudget
from pld.pipeline.candidates import synthesize_candidates
from pld.pipeline.clustering import cluster_traces
from pld.pipeline.gains import holm_level
from pld.pipeline.hygiene import predicts_label, screen_traces
from pld.pipeline.teacher import Teacher
from pld.pipeline.traces import categorical_fields
from pld.programs.policy_data import SPLIT_SIZES, get_domain, load_policy_file, write_policy_files
from pld.programs.policy_domains import DOMAINS
from pld.rules import Trace
from pld.tasks import get_task
from tests.fakes import function_lm


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_policy_files_are_deterministic_disjoint_and_labelled_by_their_written_policy(name, tmp_path):
    domain = get_domain(name)
    first, second = write_policy_files(domain, tmp_path / "a"), write_policy_files(domain, tmp_path / "b")
    for split in SPLIT_SIZES:
        assert (first / f"{split}.jsonl").read_bytes() == (second / f"{split}.jsonl").read_bytes()
    rows = {split: [json.loads(line) for line in (first / f"{split}.jsonl").read_text().splitlines()]
            for split in SPLIT_SIZES}
    keys = {split: {tuple(row[f] for f in (*domain.fields, domain.text_field)) for row in part}
            for split, part in rows.items()}
    assert not keys["train"] & keys["test"] and not keys["validation"] & keys["test"]
    for row in rows["train"]:
        decided = next((o for o in domain.overrides if row[o.field] == o.value), None)
        assert row[domain.label_field] == (decided.label if decided else row["topic"])
    slices = Counter(row["slice"] for row in rows["test"])
    assert set(slices) == {"topic", *(o.name for o in domain.overrides)} and min(slices.values()) >= 30
    policy = (first / "policy.md").read_text()
    assert all(o.text in policy for o in domain.overrides)
    distractors = [row for row in rows["train"] if any(d.strip() in row[domain.text_field] for d in domain.distractors)]
    assert distractors, "the text must sometimes name an override's words while the field says otherwise"


def test_a_policy_task_loads_through_the_task_suite_and_reads_files_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PLD_CACHE_DIR", str(tmp_path / "cache"))
    task = get_task("policy_refunds")
    splits = task.load_splits(tmp_path / "no-data-here")
    assert [len(splits.train), len(splits.val), len(splits.test)] == list(SPLIT_SIZES.values())
    assert set(splits.test[0].inputs().keys()) == {"membership", "payment", "request"}
    assert (tmp_path / "cache" / "data" / "policy_refunds-v1" / "policy.md").is_file()
    program = task.make_program()
    assert program.predict.signature.output_fields["decision"].annotation.__args__ == task.labels


def test_a_damaged_policy_file_names_the_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"id": "x", "plan": "Free"}\n')
    with pytest.raises(DataError, match=r"train.jsonl:1: missing field"):
        load_policy_file(path, get_domain("support"))


def test_slice_accuracy_counts_each_slice():
    examples = [dspy.Example(queue=q, slice=s) for q, s in [("a", "x"), ("b", "x"), ("a", "y")]]
    result = slice_accuracy(examples, ["a", "a", None], "queue", "slice")
    assert result == {"x": {"n": 2, "correct": 1, "accuracy": 0.5}, "y": {"n": 1, "correct": 0, "accuracy": 0.0}}


def _trace(key: str, rule: str, gold: str, plan: str = "Enterprise", message: str = "") -> Trace:
    return Trace(example_key=key, example_id=key, inputs={"plan": plan, "message": message or f"ticket {key}"},
                 mode="label-conditioned", gold_label=gold, teacher_label=gold, rationale="", micro_rule=rule)


def test_a_micro_rule_that_does_not_conclude_its_own_label_is_dropped_with_that_reason():
    labels = ("billing", "technical", "priority")
    assert predicts_label("If the plan is Enterprise, the answer is priority.", "priority", labels) is None
    wrong = predicts_label("If the message mentions an invoice, the answer is billing.", "priority", labels)
    assert wrong.kind == "wrong-label" and "'billing'" in wrong.reason
    assert predicts_label("If the customer sounds upset, escalate.", "priority", labels).kind == "wrong-label"
    kept, dropped = screen_traces([_trace("1", "If the plan is Enterprise, the answer is priority.", "priority"),
                                   _trace("2", "If the message is about a charge, the answer is billing.", "priority")],
                                  labels)
    assert [t.example_key for t in kept] == ["1"] and dropped[0].kind == "wrong-label"


def test_categorical_field_values_stay_in_micro_rules_while_entities_are_generalised():
    rows = [dspy.Example(plan=["Free", "Enterprise"][i % 2], message=f"message number {i}").with_inputs("plan", "message")
            for i in range(12)]
    assert categorical_fields(rows) == {"plan"}


def test_clusters_never_mix_labels():
    labels = ("billing", "technical", "priority")
    traces = [_trace(f"e{i}", "If the plan is Enterprise, the answer is priority.", "priority") for i in range(4)]
    traces += [_trace(f"f{i}", "If the plan is Enterprise, the answer is billing.", "billing") for i in range(4)]
    clusters, noise = cluster_traces(traces, min_samples=2)
    assert len(clusters) == 2 and not noise
    assert sorted(tuple({t.gold_label for t in cluster.traces}) for cluster in clusters) == [("billing",), ("priority",)]


def test_micro_rules_that_quote_their_example_still_cluster_and_only_the_merged_rule_is_screened():
    """A micro-rule is one example's rule: quoting it is allowed until it would reach the student."""
    labels = ("billing", "technical", "priority")
    quoting = [_trace(f"q{i}", f'If the text mentions "API calls return error {code}", the answer is technical.',
                      "technical", message=f"Our API calls return error {code} since this morning.")
               for i, code in enumerate(["500", "TIMEOUT-3", "TIMEOUT-3"])]
    lone = _trace("z", 'If the text mentions "the refund you promised for March", the answer is billing.', "billing",
                  message="The refund you promised for March never reached my account.")
    kept, dropped = screen_traces([*quoting, lone], labels)
    assert len(kept) == 4 and not dropped
    teacher_lm, _ = function_lm(lambda system, user: {"merged_rule": "If the message reports an API error, the "
                                                                      "answer is technical."}, "merger")
    refused: list = []
    candidates = synthesize_candidates(Teacher(labels), teacher_lm, CallBudget("teacher"), kept, (), task="route",
                                       labels=labels, embedder=None, eps=0.4, min_samples=2, max_candidates=4,
                                       refused=refused)
    assert [(c.source, c.cluster_size, c.text) for c in candidates] == [
        ("cluster", 3, "If the message reports an API error, the answer is technical.")]
    assert [(r.stage, r.kind) for r in refused] == [("candidate", "restates-input")]  # the lone quoting rule


def test_labels_are_decoded_in_the_spelling_a_model_prefers():
    assert label_spellings("technical") == ("technical", "Technical")
    assert "NotMentioned" in label_spellings("NotMentioned") and "notmentioned" in label_spellings("NotMentioned")
    assert canonical_label(" Technical", ("billing", "technical")) == "technical"
    assert '"Technical"' in choice_grammar(("billing", "technical"))
    vocabulary = {"billing": 1, "Billing": 2, "technical": 3, "Technical": 4, " technical": 5, " billing": 6}

    def tokenize(text: str) -> list[int]:
        return [vocabulary[text]] if text in vocabulary else [100 + ord(c) for c in text]

    owners = prefix_tokens(("billing", "technical"), tokenize)
    assert owners[2] == {0} and owners[4] == {1} and owners[5] == {1}
    assert 100 + ord(" ") not in owners, "a bare space starts every label: it decides nothing"


def test_holm_tests_the_best_of_many_at_a_stricter_level_and_stops_after_a_failure():
    assert holm_level([0.001, 0.5, 0.5, 0.5], 0, 0.025) == pytest.approx(0.025 / 4)
    assert holm_level([0.001, 0.004, 0.5], 1, 0.025) == pytest.approx(0.025 / 2)
    assert holm_level([0.02, 0.001, 0.5], 0, 0.025) == pytest.approx(0.025 / 2)  # second smallest: alpha / 2
    assert holm_level([0.02, 0.03, 0.5], 1, 0.025) is None  # 0.02 > 0.025 / 3 failed first: the rest cannot pass
    assert holm_level([0.01, 0.01], 0, 0.025) == pytest.approx(0.025)  # ties put the hypothesis asked about last
