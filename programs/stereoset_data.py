"""StereoSet intrasentence examples, from the official-format JSONL files or the hub."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import dspy

from pld.errors import DataError
from pld.signatures import STEREOSET_LABELS

from .data import check_label, read_jsonl, require_fields
from .fields import id_field, text_field
from .hub import class_label_names, dataset_features, load_hub_split

logger = logging.getLogger(__name__)

STEREOSET_INPUTS: tuple[str, ...] = ("target", "context", "sentence")
STEREOSET_FILE_FIELDS: tuple[str, ...] = (
    "id", "bias_type", "target", "context", "sentence", "label"
)
STEREOSET_HUB_ID = "McGill-NLP/stereoset"
STEREOSET_HUB_CONFIG = "intrasentence"
# ClassLabel index -> label of the hub's `sentences.gold_label`, used when the dataset carries no
# feature metadata (the names are read from the features when it does).
STEREOSET_HUB_GOLD_LABELS: tuple[str, ...] = ("anti-stereotype", "stereotype", "unrelated")

_LABEL_SUFFIX = re.compile(r"^(?P<cluster>.+?)-(?:anti-stereotype|stereotype|unrelated)$")


def stereoset_cluster(example_id: str, target: str, context: str) -> str:
    """The cluster (the three sentences filling one context): ``ss-intra-1-stereotype`` ->
    ``ss-intra-1``; ids without a label suffix fall back to the shared target and context."""
    match = _LABEL_SUFFIX.match(example_id)
    return match.group("cluster") if match else f"{target}|{context}"


def make_stereoset_example(
    *, id: str, bias_type: str, cluster: str, target: str, context: str, sentence: str, label: str
) -> dspy.Example:
    """One example; ``id``, ``bias_type`` and ``cluster`` ride along but are not inputs."""
    return dspy.Example(
        id=id,
        bias_type=bias_type,
        cluster=cluster,
        target=target,
        context=context,
        sentence=sentence,
        label=label,
    ).with_inputs(*STEREOSET_INPUTS)


def load_stereoset_file(path: str | Path) -> list[dspy.Example]:
    """Read one StereoSet JSONL file: one row per candidate sentence, three rows per cluster."""
    path = Path(path)
    examples = []
    for line_number, row in read_jsonl(path):
        where = f"{path}:{line_number}"
        require_fields(row, STEREOSET_FILE_FIELDS, where)
        label = check_label(row["label"], STEREOSET_LABELS, where)
        example_id = id_field(row, "id", where)
        target, context = text_field(row, "target", where), text_field(row, "context", where)
        examples.append(
            make_stereoset_example(
                id=example_id,
                bias_type=text_field(row, "bias_type", where),
                cluster=stereoset_cluster(example_id, target, context),
                target=target,
                context=context,
                sentence=text_field(row, "sentence", where),
                label=label,
            )
        )
    if not examples:
        raise DataError(f"{path}: no rows; expected one JSON object per line")
    logger.info("loaded %d StereoSet rows from %s", len(examples), path)
    return examples


def _hub_sentences(row: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The hub's `sentences` column as a list of dicts (it is stored as a dict of lists)."""
    sentences = row["sentences"]
    if isinstance(sentences, Mapping):
        count = len(sentences["sentence"])
        return [{key: sentences[key][i] for key in sentences} for i in range(count)]
    return list(sentences)


def stereoset_examples_from_hub(
    rows: Iterable[Mapping[str, Any]],
    gold_label_names: Sequence[str] = STEREOSET_HUB_GOLD_LABELS,
) -> list[dspy.Example]:
    """Map hub rows ``{id, target, bias_type, context, sentences{sentence, id, gold_label}}``
    to one example per sentence, with the hub row id as the cluster."""
    examples = []
    for row_number, row in enumerate(rows):
        where = f"{STEREOSET_HUB_ID} row {row_number}"
        require_fields(row, ("id", "target", "bias_type", "context", "sentences"), where)
        try:
            sentences = _hub_sentences(row)
        except (KeyError, IndexError, TypeError) as exc:
            raise DataError(f"{where}: unexpected `sentences` layout ({exc!r})") from exc
        for sentence in sentences:
            label = sentence.get("gold_label")
            if isinstance(label, int) and not isinstance(label, bool):
                if not 0 <= label < len(gold_label_names):
                    raise DataError(
                        f"{where}: gold_label {label} outside 0..{len(gold_label_names) - 1}"
                    )
                label = gold_label_names[label]
            label = check_label(label, STEREOSET_LABELS, where)
            cluster = id_field(row, "id", where)
            examples.append(
                make_stereoset_example(
                    id=f"{cluster}-{label}",
                    bias_type=text_field(row, "bias_type", where),
                    cluster=cluster,
                    target=text_field(row, "target", where),
                    context=text_field(row, "context", where),
                    sentence=text_field(sentence, "sentence", where),
                    label=label,
                )
            )
    return examples


def load_stereoset_hub(split: str = "validation") -> list[dspy.Example]:
    """Load the intrasentence split from the hub (it has only ``validation``, with labels)."""
    dataset = load_hub_split(STEREOSET_HUB_ID, STEREOSET_HUB_CONFIG, split)
    names = STEREOSET_HUB_GOLD_LABELS
    sentences_feature = dataset_features(dataset).get("sentences")
    if isinstance(sentences_feature, Mapping):
        names = tuple(class_label_names(sentences_feature.get("gold_label")) or names)
    elif sentences_feature is not None:  # older `Sequence({...})` of a dict
        inner = getattr(sentences_feature, "feature", None)
        if isinstance(inner, Mapping):
            names = tuple(class_label_names(inner.get("gold_label")) or names)
    return stereoset_examples_from_hub(dataset, names)
