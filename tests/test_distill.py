"""Fine-tuning data export: fraction, filters, layouts, atomic writes, cache reuse (deterministic LMs)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import datasets
import dspy
import pytest

from pld import PLD, PLDConfig, macro_f1
from pld.cli import main
from pld.distill import (
    DistillSettings,
    build_distill_data,
    choose_rationale_examples,
    distill_data,
    load_distill_dataset,
    names_other_label,
    prompt_messages,
    restates_label,
    task_description,
    write_distill_data,
)
from pld.errors import ConfigError, DataError
from tests.fakes import ToySignature, field_value, function_lm, rule_following_student, toy_examples

LABELS = ("pos", "neg")
TASK = task_description(dspy.Predict(ToySignature), "label", LABELS)
RULE = "If the item is marked special, answer neg."


def _output_fields(system: str) -> list[str]:
    block = system.split("Your output fields are:")[-1].split("All interactions")[0]
    return re.findall(r"`(\w+)`", block)


def annotating_teacher(system: str, user: str) -> dict[str, str]:
    """Labels by the word "special"; "tricky" items get the wrong label, "blank" items an empty
    rationale, "parrot" items a rationale that only restates the label, "confused" items a
    rationale that concludes with the other label."""
    item = field_value(user, "example")
    label = "neg" if "special" in item else "pos"
    if "tricky" in item:
        label = "pos" if label == "neg" else "neg"
    reasoning = f"The item is {'' if 'special' in item else 'not '}marked special, which settles how it is treated."
    if "blank" in item:
        reasoning = ""
    elif "parrot" in item:
        reasoning = f"The answer is {label}."
    elif "confused" in item:
        reasoning += f" So the label is {'pos' if label == 'neg' else 'neg'}."
    fields = {"reasoning": reasoning, "label": label, "rule": RULE}
    return {name: fields.get(name, RULE) for name in _output_fields(system)}  # merge/revise: one rule


def _examples(*texts_labels: tuple[str, str]) -> list[dspy.Example]:
    return [dspy.Example(text=t, label=l, id=f"ex{i}").with_inputs("text") for i, (t, l) in enumerate(texts_labels)]


def _teacher(cache: bool = False) -> tuple[dspy.LM, object]:
    lm, engine = function_lm(annotating_teacher, f"distill-{uuid.uuid4().hex[:8]}")
    if cache:
        lm = dspy.LM(lm.model, engine=engine, cache=True)
    return lm, engine


def _build(examples, lm, **kwargs):
    return build_distill_data(examples, lm, task=TASK, label_field="label", labels=LABELS, progress=False, **kwargs)


def test_fraction_choice_is_seeded_sized_and_nested():
    half = choose_rationale_examples(20, 0.5, seed=0)
    assert half == choose_rationale_examples(20, 0.5, seed=0)
    assert len(half) == 10
    assert half != choose_rationale_examples(20, 0.5, seed=1)
    assert choose_rationale_examples(20, 0.25, seed=0) < half  # a smaller fraction keeps a subset
    assert len(choose_rationale_examples(20, 0.01, seed=0)) == 1
    assert choose_rationale_examples(20, 1.0, seed=0) == set(range(20))


@pytest.mark.parametrize("fraction", [0, -0.5, 1.5])
def test_bad_fraction_is_a_config_error(fraction):
    lm, engine = _teacher()
    with pytest.raises(ConfigError, match="rationale fraction"):
        _build(toy_examples(), lm, rationale_fraction=fraction)
    assert engine.requests == []


def test_labelled_fraction_asks_only_for_the_chosen_rationales():
    examples = toy_examples(10, 10)
    lm, engine = _teacher()
    data = _build(examples, lm, rationale_fraction=0.5, seed=3)

    chosen = choose_rationale_examples(20, 0.5, seed=3)
    assert len(engine.requests) == 10  # gold labels: the other half costs no teacher call at all
    assert {i for i, r in enumerate(data.records) if r.rationale is not None} == chosen
    assert all(r.teacher_label == r.gold_label for r in data.records)
    report = data.report
    assert (report.rationales_requested, report.kept, report.kept_with_rationale) == (10, 20, 10)
    assert report.costs.skipped_rationales == 10 and report.costs.rationale_saving_tokens > 0
    assert _build(examples, _teacher()[0], rationale_fraction=0.5, seed=3).records == data.records


def test_unlabeled_fraction_adds_cheap_label_only_calls():
    lm, engine = _teacher()
    data = _build(toy_examples(6, 4), lm, unlabeled=True, rationale_fraction=0.3, seed=0)

    rationale_calls = [s for s, _ in engine.requests if "reasoning" in _output_fields(s)]
    label_calls = [s for s, _ in engine.requests if _output_fields(s) == ["label"]]
    assert (len(rationale_calls), len(label_calls)) == (3, 7)
    costs = data.report.costs
    assert (costs.rationale_calls.calls, costs.label_only_calls.calls) == (3, 7)
    assert costs.label_only_calls.completion_tokens / 7 < costs.rationale_calls.completion_tokens / 3
    assert data.report.teacher_accuracy == 1.0
    assert data.report.mode == "label-free"


def test_filters_drop_and_count_by_reason():
    examples = _examples(("item 1", "pos"), ("item 2 special", "neg"), ("item 3 tricky", "pos"),
                         ("item 4 blank", "pos"), ("item 5 parrot special", "neg"), ("item 6", "pos"),
                         ("item 7 confused", "pos"))
    data = _build(examples, _teacher()[0], unlabeled=True)

    reasons = {r.id: r.drop_reason for r in data.records}
    assert reasons == {"ex0": None, "ex1": None, "ex2": "label_disagrees", "ex3": "empty_rationale",
                       "ex4": "rationale_restates_label", "ex5": None, "ex6": "rationale_names_other_label"}
    report = data.report
    assert report.dropped == {"teacher_failed": 0, "label_disagrees": 1, "empty_rationale": 1,
                              "rationale_restates_label": 1, "rationale_names_other_label": 1}
    assert report.kept == 3
    assert report.teacher_accuracy == pytest.approx(6 / 7)
    assert "label_disagrees 1" in report.summary()


def test_label_conditioned_traces_never_disagree_with_gold():
    examples = _examples(("item 3 tricky", "pos"), ("item 4", "pos"))
    data = _build(examples, _teacher()[0])
    assert [r.drop_reason for r in data.records] == [None, None]
    assert data.report.teacher_accuracy is None  # the teacher was told the label


def test_names_other_label():
    labels = ("stereotype", "anti-stereotype", "unrelated")
    assert names_other_label("It is vague. Therefore, the label is unrelated.", "anti-stereotype", labels)
    assert names_other_label("Label: stereotype", "anti-stereotype", labels)
    assert not names_other_label("So the answer is anti-stereotype.", "anti-stereotype", labels)
    assert not names_other_label("It reverses a stereotype about the group.", "anti-stereotype", labels)


def test_restates_label():
    labels = ("stereotype", "anti-stereotype", "unrelated")
    assert restates_label("The answer is stereotype.", labels)
    assert restates_label("This sentence is clearly an anti-stereotype, so the label is anti-stereotype.", labels)
    assert restates_label("NotMentioned.", ("Entailment", "Contradiction", "NotMentioned"))
    assert not restates_label("It assumes nurses are women, a common stereotype.", labels)


def _export(tmp_path: Path, **kwargs) -> Path:
    examples = _examples(("item 1", "pos"), ("item 2 special", "neg"), ("item 3 tricky", "pos"), ("item 4", "pos"))
    data = _build(examples, _teacher()[0], unlabeled=True, rationale_fraction=0.5, seed=1, **kwargs)
    return write_distill_data(data, tmp_path / "data")


def test_both_layouts_load_with_datasets(tmp_path):
    out = _export(tmp_path)
    cache = str(tmp_path / "hf")
    multitask = datasets.load_dataset("json", data_files=str(out / "multitask.jsonl"), split="train", cache_dir=cache)
    chat = datasets.load_dataset("json", data_files=str(out / "chat.jsonl"), split="train", cache_dir=cache)
    report = json.loads((out / "report.json").read_text())
    kept = report["kept"]

    assert set(multitask.column_names) == {"id", "task", "input", "target"}
    assert multitask["task"].count("predict") == kept
    assert multitask["task"].count("explain") == report["kept_with_rationale"]
    for row in multitask:
        assert row["input"].startswith(f"{row['task']}: text: item")
        if row["task"] == "predict":
            assert row["target"] in LABELS
    assert len(chat) == kept
    roles = [[m["role"] for m in messages] for messages in chat["messages"]]
    assert roles == [["system", "user", "assistant"]] * kept
    assert all(m[2]["content"].startswith("label: ") for m in chat["messages"])
    assert any("\nrationale: " in m[2]["content"] for m in chat["messages"])
    assert chat["messages"][0][0]["content"] == TASK

    assert load_distill_dataset(out, "multitask").num_rows == multitask.num_rows
    assert load_distill_dataset(out, "chat").num_rows == kept
    traces = load_distill_dataset(out, "traces")
    assert traces.num_rows == 4 and "label_disagrees" in traces["drop_reason"]
    with pytest.raises(ConfigError):
        load_distill_dataset(out, "parquet")  # type: ignore[arg-type]
    with pytest.raises(DataError):
        load_distill_dataset(tmp_path / "nowhere")


def test_an_interrupted_write_leaves_the_previous_export(tmp_path, monkeypatch):
    out = _export(tmp_path)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    original = Path.write_text

    def failing(self, text, *args, **kwargs):
        if self.name == "report.json":
            raise KeyboardInterrupt
        return original(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", failing)
    with pytest.raises(KeyboardInterrupt):
        _export(tmp_path, k_shot=2)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no staging folder left behind


def test_prompts_are_the_real_ones_and_k_shot_costs_more():
    lm, engine = _teacher()
    data = _build(toy_examples(3, 3), lm, unlabeled=True, k_shot=2)
    for call, (system, user) in zip(data.calls, engine.requests):
        messages = prompt_messages(call)
        assert (messages[0]["content"], messages[-1]["content"]) == (system, user)
    k_shot = data.report.costs.k_shot
    assert k_shot.k == 2 and k_shot.calls == 6
    assert k_shot.k_shot_prompt_tokens > k_shot.zero_shot_prompt_tokens
    assert k_shot.saved_tokens == k_shot.k_shot_prompt_tokens - k_shot.zero_shot_prompt_tokens
    assert k_shot.tokenizer.startswith("estimate")


def test_a_second_run_makes_no_new_teacher_calls():
    lm, engine = _teacher(cache=True)
    first = _build(toy_examples(4, 4), lm, unlabeled=True, rationale_fraction=0.5)
    second = _build(toy_examples(4, 4), lm, unlabeled=True, rationale_fraction=0.5)
    assert first.report.costs.new_teacher_calls == 8
    assert second.report.costs.new_teacher_calls == 0
    assert second.report.costs.cache_hits == 8 and second.report.costs.spent.prompt_tokens == 0
    assert second.report.costs.data == first.report.costs.data  # the data's cost is still reported
    assert len(engine.requests) == 8
    assert second.records == first.records


def test_an_export_after_compile_makes_no_new_teacher_calls():
    teacher, engine = _teacher(cache=True)
    student, _ = function_lm(rule_following_student, "student")
    trainset = toy_examples(4, 4)
    PLD(teacher_lm=teacher, student_lm=student, metric=macro_f1("label", list(LABELS)), max_repair_rounds=0,
        progress=False).compile(dspy.Predict(ToySignature), trainset=trainset, valset=toy_examples(start=100))
    compiled_requests = len(engine.requests)

    data = _build(trainset, teacher)
    assert data.report.costs.teacher_calls == 8
    assert data.report.costs.new_teacher_calls == 0
    assert len(engine.requests) == compiled_requests


def test_cli_errors_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:  # a bad setting stops at the command line, with the usage line
        main(["distill-data", "--task", "stereoset", "--out", str(tmp_path / "x"), "--rationale-fraction", "0"])
    assert exited.value.code == 2
    assert "argument --rationale-fraction: must be a finite number > 0 and <= 1, got '0'" in capsys.readouterr().err
    assert main(["distill-data", "--task", "nosuchtask", "--out", str(tmp_path / "x")]) == 2
    assert main(["distill-data", "--task", "stereoset", "--out", str(tmp_path / "x"),
                 "--data-dir", str(tmp_path / "missing")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("error: ") for line in lines)
    assert "unknown task" in lines[0] and "does not exist" in lines[1]
    assert not (tmp_path / "x").exists()


@pytest.mark.model
def test_real_teacher_on_stereoset(tmp_path, data_dir):
    settings = DistillSettings(teacher="local/qwen2.5-0.5b", n_examples=2, data_dir=str(data_dir), k_shot=1,
                               pld=PLDConfig(progress=False))
    data, out = distill_data("stereoset", tmp_path / "stereoset", settings)
    report = data.report
    assert report.n_examples == 2 and report.costs.k_shot.tokenizer == "teacher"
    assert load_distill_dataset(out, "multitask").num_rows == report.kept + report.kept_with_rationale
    assert load_distill_dataset(out, "chat").num_rows == report.kept
    costs = report.costs
    if costs.new_teacher_calls == costs.teacher_calls == 2:  # no JSON-adapter retry: counts are exact
        assert costs.data.prompt_tokens == costs.spent.prompt_tokens  # prompts rebuilt exactly as sent
        assert costs.data.completion_tokens == costs.spent.completion_tokens
