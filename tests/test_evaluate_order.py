"""How evaluations ask their examples and what they give back (``pld.evaluate``), and how many
CPUs the embedded engine uses (``pld.backends.local.cpus``). No model is loaded: the student is a
deterministic LM of ours that logs what it was asked, in the order it was asked."""

from __future__ import annotations

import os

import dspy
import pytest

from pld.backends.local import cpus
from pld.errors import StudentError
from pld.evaluate import prefix_order, run_program
from tests.fakes import ToySignature, field_value, function_lm


def echo_student(system: str, user: str) -> dict[str, str]:
    """Answers ``pos`` for items whose number is even: a label that identifies its example."""
    number = int(field_value(user, "text").split()[1])
    return {"label": "pos" if number % 2 == 0 else "neg"}


def items(*numbers: int) -> list[dspy.Example]:
    return [dspy.Example(text=f"item {n}", label="pos").with_inputs("text") for n in numbers]


@pytest.mark.parametrize("threads", [1, 3])
def test_run_program_asks_sorted_and_answers_in_the_order_given(threads):
    examples = items(5, 2, 9, 2, 4, 7)  # "item 2" twice
    lm, engine = function_lm(echo_student, f"order-{threads}")
    predictions, latencies = run_program(dspy.Predict(ToySignature), examples, lm, num_threads=threads)
    assert [p.label for p in predictions] == ["neg", "pos", "neg", "pos", "pos", "neg"]
    assert len(latencies) == len(examples)
    asked = [field_value(user, "text").split("\n\n")[0] for _, user in engine.requests]  # before the reminder
    assert sorted(asked) == sorted(ex.text for ex in examples)
    if threads == 1:
        assert asked == sorted(asked)  # prefix order: consecutive prompts share their longest prefixes


def test_prefix_order_follows_the_prompt_fields_not_the_example_keys():
    class TwoFields(dspy.Signature):
        """Label each ticket."""

        plan: str = dspy.InputField()
        message: str = dspy.InputField()
        label: str = dspy.OutputField()

    examples = [dspy.Example(message=m, plan=p).with_inputs("message", "plan")
                for m, p in [("a", "Pro"), ("b", "Free"), ("c", "Pro"), ("d", "Free")]]
    assert prefix_order(dspy.Predict(TwoFields), examples) == [1, 3, 0, 2]  # by plan first, as the prompt shows


def test_an_example_without_inputs_fails_as_that_example_not_in_the_ordering():
    lm, _ = function_lm(echo_student, "no-inputs")
    with pytest.raises(StudentError):
        run_program(dspy.Predict(ToySignature), [*items(1), dspy.Example(text="item 2")], lm)


def _topology(tmp_path, siblings: dict[int, str | None], monkeypatch, quota: str | None = None) -> None:
    for cpu, text in siblings.items():
        folder = tmp_path / "cpu" / f"cpu{cpu}" / "topology"
        folder.mkdir(parents=True)
        if text is not None:
            (folder / "thread_siblings_list").write_text(text + "\n")
    monkeypatch.setattr(cpus, "SYS_CPU", tmp_path / "cpu")
    cgroup = tmp_path / "cpu.max"
    if quota is not None:
        cgroup.write_text(quota + "\n")
    monkeypatch.setattr(cpus, "CGROUP_CPU_MAX", cgroup)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(siblings))


def test_physical_cores_counts_hyperthread_siblings_once(tmp_path, monkeypatch):
    _topology(tmp_path, {0: "0,4", 1: "1,5", 4: "0,4", 5: "1,5"}, monkeypatch)
    assert cpus.physical_cores() == 2 and cpus.usable_cpus() == 4


def test_physical_cores_without_hyperthreads_uses_every_core(tmp_path, monkeypatch):
    _topology(tmp_path, {0: "0", 1: "1"}, monkeypatch)
    assert cpus.physical_cores() == 2  # llama-cpp-python's default would be 1


def test_a_cgroup_quota_caps_both_counts(tmp_path, monkeypatch):
    _topology(tmp_path, {n: str(n) for n in range(8)}, monkeypatch, quota="150000 100000")
    assert cpus.usable_cpus() == 2 and cpus.physical_cores() == 2
    _topology(tmp_path / "unlimited", {n: str(n) for n in range(8)}, monkeypatch, quota="max 100000")
    assert cpus.usable_cpus() == 8


def test_missing_topology_counts_logical_cpus_without_mixing(tmp_path, monkeypatch):
    _topology(tmp_path, {0: "0-1", 1: None, 2: "2-3", 3: None}, monkeypatch)
    assert cpus.physical_cores() == 4
