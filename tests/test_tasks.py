"""Task registry, loaders, splits and the ContractNLI truncation, on the real shared data files.

No language model and no network: hub loading is exercised with a stubbed ``load_dataset``.
"""

from __future__ import annotations

import json
from collections import Counter
from itertools import groupby
from pathlib import Path
from typing import Any, get_args

import dspy
import pytest

from pld.errors import ConfigError, DataError
from pld.programs import (
    TRUNCATION_MARKER,
    Classifier,
    ContractNLIClassifier,
    load_contract_nli_file,
    load_logiqa_file,
    load_stereoset_file,
    parse_logiqa,
    truncate_document,
)
from pld.signatures import (
    CONTRACT_NLI_LABELS,
    LOGIQA_ANSWERS,
    STEREOSET_LABELS,
    ContractNLISignature,
    StereoSetSignature,
)
from pld.tasks import TASKS, Splits, balanced_sample, default_data_dir, get_task

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="module")
def data_dir() -> Path:
    if not (DATA_DIR / "stereoset" / "train.jsonl").is_file():
        pytest.skip(f"shared evaluation data not found at {DATA_DIR} (../shared/data/README.md)")
    return DATA_DIR


@pytest.fixture(scope="module")
def splits(data_dir: Path) -> dict[str, Splits]:
    return {name: task.load_splits(data_dir, seed=0) for name, task in TASKS.items()}


def ids(examples: list[dspy.Example]) -> list[str]:
    return [example.id for example in examples]


def groups(examples: list[dspy.Example], field: str) -> set[Any]:
    return {example[field] for example in examples}


def test_registry_names_and_aliases() -> None:
    assert set(TASKS) == {"stereoset", "contract_nli", "logiqa", "policy_support", "policy_refunds",
                          "policy_expenses", "policy_banking"}
    assert get_task("contract-nli") is TASKS["contract_nli"]
    for task in TASKS.values():
        output = task.signature.output_fields[task.label_field]
        assert get_args(output.annotation) == task.labels


def test_unknown_task_lists_known_names() -> None:
    with pytest.raises(DataError, match="known tasks: contract_nli, logiqa, policy_banking, policy_expenses, policy_refunds, policy_support, stereoset"):
        get_task("mnli")


def test_signature_fields() -> None:
    assert list(ContractNLISignature.input_fields) == ["document", "hypothesis"]
    assert list(StereoSetSignature.input_fields) == ["target", "context", "sentence"]
    assert STEREOSET_LABELS == ("stereotype", "anti-stereotype", "unrelated")
    assert CONTRACT_NLI_LABELS == ("Entailment", "Contradiction", "NotMentioned")
    assert LOGIQA_ANSWERS == ("a", "b", "c", "d")


PREDICTOR_NAMES = [("zero-shot", "predict"), ("cot", "predict.predict")]


@pytest.mark.parametrize("strategy, predictor", PREDICTOR_NAMES)
def test_make_program(strategy: str, predictor: str) -> None:
    for task in TASKS.values():
        program = task.make_program(strategy)
        assert isinstance(program, Classifier)
        assert [name for name, _ in program.named_predictors()] == [predictor]
    assert isinstance(get_task("contract_nli").make_program(), ContractNLIClassifier)
    with pytest.raises(ConfigError, match="zero-shot"):
        get_task("logiqa").make_program("few-shot")


def test_default_data_dir_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PLD_DATA_DIR", str(tmp_path))
    assert default_data_dir() == tmp_path
    monkeypatch.delenv("PLD_DATA_DIR")
    monkeypatch.chdir(tmp_path)
    assert default_data_dir() == tmp_path / "data"


def test_stereoset_rows(data_dir: Path, splits: dict[str, Splits]) -> None:
    rows = load_stereoset_file(data_dir / "stereoset" / "train.jsonl")
    assert len(rows) == 2106
    assert {row.label for row in rows} == set(STEREOSET_LABELS)
    assert set(rows[0].inputs().keys()) == {"target", "context", "sentence"}
    assert rows[0].cluster == "ss-intra-1" and rows[0].bias_type
    clusters = Counter(row.cluster for row in rows)
    assert len(clusters) == 702 and set(clusters.values()) == {3}
    for _, members in groupby(rows, key=lambda row: row.cluster):
        assert len({row.context for row in members}) == 1
    split = splits["stereoset"]
    assert len(split.train) + len(split.val) == 2106 and len(split.test) == 2106


def test_contract_nli_pairs(data_dir: Path) -> None:
    train = load_contract_nli_file(data_dir / "contract_nli" / "train_50docs.json")
    dev = load_contract_nli_file(data_dir / "contract_nli" / "dev.json")
    assert (len(train), len(dev)) == (850, 1037)
    assert {pair.label for pair in dev} == set(CONTRACT_NLI_LABELS)
    assert set(dev[0].inputs().keys()) == {"document", "hypothesis"}
    order = [pair.hypothesis_id for pair in dev[:17]]
    assert order[:3] == ["nda-1", "nda-2", "nda-3"]
    for pairs in (train, dev):
        runs = [key for key, _ in groupby(pairs, key=lambda pair: pair.doc_id)]
        assert len(runs) == len(set(runs)), "a document's hypotheses must be consecutive"
        for _, members in groupby(pairs, key=lambda pair: pair.doc_id):
            assert [pair.hypothesis_id for pair in members] == order


def test_logiqa_records(data_dir: Path, splits: dict[str, Splits]) -> None:
    records = load_logiqa_file(data_dir / "logiqa" / "eval.txt")
    assert len(records) == 651
    assert {record.answer for record in records} == set(LOGIQA_ANSWERS)
    assert set(records[0].inputs().keys()) == {"passage", "question", "options"}
    assert records[0].answer == "a"
    for record in records:
        lines = record.options.split("\n")
        assert [line[:3] for line in lines] == ["A. ", "B. ", "C. ", "D. "]
        assert record.passage and record.question
    split = splits["logiqa"]
    assert (len(split.train), len(split.val), len(split.test)) == (260, 131, 260)


GROUP_FIELDS = {"stereoset": "cluster", "contract_nli": "doc_id", "logiqa": "id", "policy_support": "id",
                "policy_refunds": "id", "policy_expenses": "id",
                "policy_banking": "id"}
SEEDED_SPLITS = ("contract_nli", "logiqa", "stereoset")  # policy tasks ship fixed train/validation/test files


@pytest.mark.parametrize("name", sorted(TASKS))
def test_splits_are_group_disjoint(name: str, splits: dict[str, Splits]) -> None:
    split = splits[name]
    field = GROUP_FIELDS[name]
    parts = [groups(split.train, field), groups(split.val, field), groups(split.test, field)]
    assert all(parts), "no split may be empty"
    assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
    everything = split.train + split.val + split.test
    assert len(set(ids(everything))) == len(everything)


@pytest.mark.parametrize("name", SEEDED_SPLITS)
def test_splits_are_deterministic(name: str, data_dir: Path, splits: dict[str, Splits]) -> None:
    task = get_task(name)
    again = task.load_splits(data_dir, seed=0)
    other = task.load_splits(data_dir, seed=1)
    assert ids(again.train) == ids(splits[name].train) and ids(again.val) == ids(splits[name].val)
    assert ids(other.train) != ids(again.train)
    every = sorted(ids(again.train + again.val + again.test))
    assert sorted(ids(other.train + other.val + other.test)) == every


def test_contract_nli_splits_keep_documents_consecutive(splits: dict[str, Splits]) -> None:
    for part in (splits["contract_nli"].train, splits["contract_nli"].val):
        runs = [key for key, _ in groupby(part, key=lambda pair: pair.doc_id)]
        assert len(runs) == len(set(runs)) == len(part) // 17


def test_balanced_sample(splits: dict[str, Splits]) -> None:
    train = splits["stereoset"].train
    sample = balanced_sample(train, 30, "label", seed=3)
    assert Counter(example.label for example in sample) == {label: 10 for label in STEREOSET_LABELS}
    assert ids(sample) == ids(balanced_sample(train, 30, "label", seed=3))
    assert ids(sample) != ids(balanced_sample(train, 30, "label", seed=4))
    pairs = splits["contract_nli"].train
    picked = balanced_sample(pairs, 40, "label", seed=0, group_field="doc_id")
    assert len(picked) == 40 and len(Counter(pair.label for pair in picked)) == 3
    runs = [key for key, _ in groupby(picked, key=lambda pair: pair.doc_id)]
    assert len(runs) == len(set(runs))
    assert len(balanced_sample(train[:5], 100, "label")) == 5


def test_truncation_keeps_an_identical_prefix_under_the_limit(data_dir: Path) -> None:
    dev = load_contract_nli_file(data_dir / "contract_nli" / "dev.json")
    documents = {pair.doc_id: pair.document for pair in dev}
    long_documents = [text for text in documents.values() if len(text) > 6000]
    assert long_documents
    for text in documents.values():
        cut = truncate_document(text, 6000)
        assert len(cut) <= 6000
        assert cut == truncate_document(text, 6000)
        if len(text) <= 6000:
            assert cut == text
        else:
            kept = cut[: -len(TRUNCATION_MARKER)]
            assert cut.endswith(TRUNCATION_MARKER) and text.startswith(kept)
            assert len(kept) > 3000, "the cut should fall near the limit"


def test_classifier_sends_the_same_document_for_every_hypothesis(data_dir: Path) -> None:
    dev = load_contract_nli_file(data_dir / "contract_nli" / "dev.json")
    program = ContractNLIClassifier(max_document_chars=2000)
    seen: list[str] = []

    def fake_predict(**inputs: Any) -> dspy.Prediction:
        seen.append(inputs["document"])
        return dspy.Prediction(label="NotMentioned")

    program.predict = fake_predict  # type: ignore[assignment]
    for pair in dev[:17]:
        assert program(**pair.inputs()).label == "NotMentioned"
    assert len(set(seen)) == 1 and len(seen[0]) <= 2000
    with pytest.raises(ConfigError, match="max_document_chars"):
        ContractNLIClassifier(max_document_chars=10)


def test_missing_file_names_path_and_data_dir(tmp_path: Path) -> None:
    with pytest.raises(DataError) as error:
        get_task("stereoset").load_splits(tmp_path)
    message = str(error.value)
    assert str(tmp_path / "stereoset" / "train.jsonl") in message and "--data-dir" in message


def test_malformed_jsonl_line(tmp_path: Path) -> None:
    row = {"id": "ss-intra-1-stereotype", "bias_type": "race", "target": "t",
           "context": "c BLANK", "sentence": "c x", "label": "stereotype"}
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps(row) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"train\.jsonl:2: invalid JSON"):
        load_stereoset_file(path)
    path.write_text(json.dumps({**row, "label": "biased"}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"train\.jsonl:1: label 'biased' is not one of"):
        load_stereoset_file(path)
    path.write_text(json.dumps({k: v for k, v in row.items() if k != "sentence"}), encoding="utf-8")
    with pytest.raises(DataError, match=r"train\.jsonl:1: missing field\(s\) sentence"):
        load_stereoset_file(path)


GOOD_RECORD = ["", "b", "Passage.", "Question?", "A.one", "B.two", "C.three", "D.four"]


def test_malformed_logiqa_record(tmp_path: Path) -> None:
    good = "\n".join(GOOD_RECORD)
    options = parse_logiqa(good + "\n" + good, "x.txt")[1].options
    assert options == "A. one\nB. two\nC. three\nD. four"
    path = tmp_path / "eval.txt"
    path.write_text(good + "\n\ne\nP.\nQ?\nA.1\nB.2\nC.3\nD.4\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"eval\.txt:10: expected the answer letter a-d"):
        load_logiqa_file(path)
    path.write_text(good + "\n" + "\n".join(GOOD_RECORD[:-1]) + "\n\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"eval\.txt:16: empty option D"):
        load_logiqa_file(path)
    path.write_text("\n".join([*GOOD_RECORD, "E.five"]), encoding="utf-8")
    with pytest.raises(DataError, match=r"eval\.txt:9: expected a blank line after option D"):
        load_logiqa_file(path)


def test_malformed_contract_nli(tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    data = {"documents": [{"id": 7, "text": "T.", "spans": [], "annotation_sets": [
        {"annotations": {"nda-1": {"choice": "Maybe", "spans": []}}}]}],
        "labels": {"nda-1": {"short_description": "x", "hypothesis": "H."}}}
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DataError, match=r"documents\[0\] \(id 7\) nda-1: label 'Maybe'"):
        load_contract_nli_file(path)
    path.write_text('{"documents": [\n  {"id": 1,,}\n]}', encoding="utf-8")
    with pytest.raises(DataError, match=r"dev\.json:2: invalid JSON"):
        load_contract_nli_file(path)


def test_hub_failure_is_a_data_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    def offline(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("Couldn't reach the hub")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataError, match=r"McGill-NLP/stereoset.*source='files'"):
        get_task("stereoset").load_splits(source="hub")


def test_hub_schemas_map_to_the_file_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    # ClassLabel names in an unusual order: the loaders must read them from the features.
    text = datasets.Value("string")
    gold = datasets.ClassLabel(names=["unrelated", "stereotype", "anti-stereotype"])
    stereoset_rows = datasets.Dataset.from_list(
        [{"id": f"c{i}", "target": "t", "bias_type": "race", "context": "BLANK x",
          "sentences": {"sentence": ["a x", "b x", "c x"], "gold_label": [0, 1, 2]}}
         for i in range(8)],
        features=datasets.Features({
            "id": text, "target": text, "bias_type": text, "context": text,
            "sentences": {"sentence": datasets.List(text), "gold_label": datasets.List(gold)},
        }),
    )
    nli_names = datasets.ClassLabel(names=["entailment", "neutral", "contradiction"])
    nli_rows = datasets.Dataset.from_list(
        [{"premise": f"Doc {d}.", "hypothesis": f"H{h}.", "label": (d + h) % 3}
         for d in range(4) for h in range(3)],
        features=datasets.Features({"premise": text, "hypothesis": text, "label": nli_names}),
    )
    logiqa_rows = [{"context": "P.", "query": "Q?", "options": ["1", "2", "3", "4"],
                    "correct_option": i % 4} for i in range(10)]
    hub = {"McGill-NLP/stereoset": stereoset_rows, "kiddothe2b/contract-nli": nli_rows,
           "lucasmccabe/logiqa": logiqa_rows}
    monkeypatch.setattr(datasets, "load_dataset", lambda hub_id, *a, **k: hub[hub_id])

    stereo = get_task("stereoset").load_splits(source="hub", seed=0)
    first = stereo.train[0]
    assert first.label == "unrelated" and first.id == f"{first.cluster}-unrelated"
    assert set(first.inputs().keys()) == {"target", "context", "sentence"}
    assert len(stereo.train + stereo.val + stereo.test) == 24
    nli = get_task("contract_nli").load_splits(source="hub", seed=0)
    assert {pair.label for pair in nli.test} == set(CONTRACT_NLI_LABELS)
    doc0 = [pair for pair in nli.test if pair.document == "Doc 0."]
    assert [pair.label for pair in doc0] == ["Entailment", "NotMentioned", "Contradiction"]
    logiqa = get_task("logiqa").load_splits(source="hub", seed=0)
    record = (logiqa.train + logiqa.val + logiqa.test)[0]
    assert record.options.startswith("A. 1\nB. 2") and record.answer in LOGIQA_ANSWERS


def test_null_or_non_text_fields_are_refused_with_file_and_line(tmp_path: Path) -> None:
    row = {"id": "ss-intra-1-stereotype", "bias_type": "race", "target": "t",
           "context": "c BLANK", "sentence": "c x", "label": "stereotype"}
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps({**row, "sentence": None}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"train\.jsonl:2: field 'sentence' is null"):
        load_stereoset_file(path)
    path.write_text(json.dumps({**row, "target": 3}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"train\.jsonl:1: field 'target' is a int, expected text"):
        load_stereoset_file(path)
    path.write_text(json.dumps({**row, "label": None}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"train\.jsonl:1: label None is not one of"):
        load_stereoset_file(path)
    nli = tmp_path / "dev.json"
    nli.write_text(json.dumps({"documents": [{"id": "d", "text": None, "annotation_sets": [{"annotations": {}}]}],
                               "labels": {"nda-1": {"hypothesis": "H."}}}), encoding="utf-8")
    with pytest.raises(DataError, match=r"documents\[0\] \(id d\): field 'text' is null"):
        load_contract_nli_file(nli)


def test_hub_rows_with_null_fields_are_refused() -> None:
    from pld.programs import contract_nli_examples_from_hub, logiqa_examples_from_hub, stereoset_examples_from_hub

    with pytest.raises(DataError, match=r"stereoset row 0: field 'sentence' is null"):
        stereoset_examples_from_hub([{"id": "c", "target": "t", "bias_type": "b", "context": "x",
                                      "sentences": {"sentence": [None], "gold_label": [0]}}])
    with pytest.raises(DataError, match=r"contract-nli row 0: field 'premise' is null"):
        contract_nli_examples_from_hub([{"premise": None, "hypothesis": "H.", "label": 0}])
    with pytest.raises(DataError, match=r"logiqa validation row 0: field 'query' is null"):
        logiqa_examples_from_hub([{"context": "P.", "query": None, "options": ["1", "2", "3", "4"],
                                   "correct_option": 0}], "validation")
    with pytest.raises(DataError, match=r"every option must be text"):
        logiqa_examples_from_hub([{"context": "P.", "query": "Q?", "options": ["1", None, "3", "4"],
                                   "correct_option": 0}], "validation")


def _example(**fields: Any) -> dspy.Example:
    return dspy.Example(**{"text": "item 1", "label": "pos", **fields}).with_inputs("text")


@pytest.mark.parametrize("examples, message", [
    ([_example(), _example(text=None)], r"trainset\[1\]\.text is None: give every input field a value"),
    ([_example(label=None)], r"trainset\[0\]\.label is None: give it one of the labels"),
    ([_example(label="Pos")], r"trainset\[0\]\.label is 'Pos', not one of the labels 'pos', 'neg': fix its spelling"),
    ([_example(), dspy.Example(text="x").with_inputs("text")], r"trainset\[1\] has no 'label' label"),
])
def test_check_examples_names_the_index_the_field_and_the_fix(examples: list, message: str) -> None:
    from pld.inputs import check_examples

    with pytest.raises(ConfigError, match=message):
        check_examples(examples, "trainset", "label", labelled=True, labels=("pos", "neg"))


def test_check_examples_lets_label_free_training_data_through() -> None:
    from pld.inputs import check_examples

    unlabelled = [dspy.Example(text="x").with_inputs("text"), _example(label=None)]
    assert check_examples(unlabelled, "trainset", "label", labelled=False, labels=("pos", "neg")) == unlabelled


def _hub_rows_from_official(path: Path) -> Any:
    """The official JSON in the hub's whole-document layout (kiddothe2b/contract-nli, config
    contractnli_b): one row per (NDA, hypothesis), the label a ClassLabel index."""
    import datasets

    data = json.loads(path.read_text(encoding="utf-8"))
    names = ["contradiction", "entailment", "neutral"]
    index = {"Contradiction": 0, "Entailment": 1, "NotMentioned": 2}
    rows = [{"premise": document["text"], "hypothesis": data["labels"][key]["hypothesis"],
             "label": index[annotation["choice"]]}
            for document in data["documents"]
            for key, annotation in document["annotation_sets"][0]["annotations"].items()]
    text = datasets.Value("string")
    return datasets.Dataset.from_list(rows, features=datasets.Features(
        {"premise": text, "hypothesis": text, "label": datasets.ClassLabel(names=names)}))


def test_contract_nli_hub_reads_whole_documents_like_the_files(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    from pld.programs import load_contract_nli_hub

    official = data_dir / "contract_nli" / "train_50docs.json"
    asked: list[tuple[str, str | None, str]] = []

    def load_dataset(hub_id: str, config: str | None = None, split: str = "train", **_: Any) -> Any:
        asked.append((hub_id, config, split))
        return _hub_rows_from_official(official)

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    hub = load_contract_nli_hub("train")
    files = load_contract_nli_file(official)

    assert asked == [("kiddothe2b/contract-nli", "contractnli_b", "train")]  # whole NDAs, not evidence spans
    assert len({pair.doc_id for pair in hub}) == len({pair.doc_id for pair in files}) == 50
    assert len(hub) == len(files) == 50 * 17
    triple = lambda pair: (pair.document, pair.hypothesis, pair.label)  # noqa: E731
    assert sorted(map(triple, hub)) == sorted(map(triple, files))
    for _, group in groupby(hub, key=lambda pair: pair.doc_id):  # a document's pairs are consecutive
        assert len(list(group)) == 17


def test_contract_nli_hub_refuses_evidence_span_rows() -> None:
    from pld.programs import contract_nli_examples_from_hub

    spans = [{"premise": f"Span {i} of some NDA.", "hypothesis": f"H{i % 17}.", "label": i % 3} for i in range(34)]
    with pytest.raises(DataError, match="evidence spans .*contractnli_a.*contractnli_b"):
        contract_nli_examples_from_hub(spans, ("Contradiction", "Entailment", "NotMentioned"))


def test_source_flag_reaches_the_loaders(monkeypatch: pytest.MonkeyPatch) -> None:
    from pld.cli import build_parser
    from pld.commands.compile import settings_from
    from pld.distill.job import DistillSettings

    parser = build_parser()
    assert settings_from(parser.parse_args(["compile", "--source", "hub"])).source == "hub"
    assert settings_from(parser.parse_args(["compile"])).source == "files"
    for command in (["evaluate", "--task", "stereoset"], ["distill-data", "--task", "stereoset", "--out", "x"]):
        assert parser.parse_args([*command, "--source", "hub"]).source == "hub"
    assert DistillSettings(source="hub").source == "hub"
    with pytest.raises(SystemExit):
        parser.parse_args(["compile", "--source", "web"])


def test_each_task_has_a_calibration_default_that_students_take_where_their_engine_scores_labels(tmp_path):
    from pld.backends.options import LMOptions

    stereoset, contract = get_task("stereoset"), get_task("contract_nli")
    assert stereoset.default_options("local/gemma3-270m", LMOptions()).calibrate is True
    assert contract.default_options("local/gemma3-270m", LMOptions()).calibrate is False
    assert stereoset.default_options("ollama/gemma3:4b", LMOptions()).calibrate is False  # no logit_bias there
    served = LMOptions(api_base="http://127.0.0.1:8000/v1", chat_format="gemma")
    assert stereoset.default_options("openai/gemma3-270m", served).calibrate is True  # a completions server scores
    pool = LMOptions(api_base="http://a:8000/v1,http://b:8000/v1", chat_format="gemma")
    assert stereoset.default_options("openai/gemma3-270m", pool).calibrate is True  # decodes as one of its servers
    mixed = tmp_path / "router.yaml"
    mixed.write_text("model_list:\n"
                     "  - {model_name: g, litellm_params: {model: openai/g, api_base: 'http://a:8000/v1'}}\n"
                     "  - {model_name: g, litellm_params: {model: ollama/g, api_base: 'http://b:11434'}}\n")
    routed = LMOptions(router=str(mixed), chat_format="gemma")
    assert stereoset.default_options("openai/g", routed).calibrate is False  # an Ollama endpoint has no logit_bias
    assert stereoset.default_options("openai/gpt-4o-mini", LMOptions()).calibrate is False  # a chat route generates
    assert stereoset.default_options("local/gemma3-270m", LMOptions(calibrate=False)).calibrate is False  # said: kept
