"""ContractNLI examples, one per (document, hypothesis), from the official JSON or the hub.

The examples of one document are consecutive and in a stable hypothesis order, so a student
run over them sends the same document prefix 17 times in a row (prefix caching).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import dspy

from pld.errors import DataError
from pld.signatures import CONTRACT_NLI_LABELS

from .data import check_label, read_json, require_fields
from .fields import id_field, text_field
from .hub import class_label_names, dataset_features, load_hub_split

logger = logging.getLogger(__name__)

CONTRACT_NLI_INPUTS: tuple[str, ...] = ("document", "hypothesis")
CONTRACT_NLI_HUB_ID = "kiddothe2b/contract-nli"
# The hub's two configurations are the paper's two inputs: `contractnli_a` pairs each hypothesis
# with its evidence spans only (Task A: 9.79k rows whose "premise" differs per hypothesis), while
# `contractnli_b` pairs it with the whole NDA (Task B: 10,319 rows = 607 NDAs x 17 hypotheses, in
# the official train/dev/test split), which is what the official files and our program read.
CONTRACT_NLI_HUB_CONFIG = "contractnli_b"
# ASSUMPTION (not checked against the hub, which we cannot reach): the hub's integer `label` is
# 0 = Contradiction, 1 = Entailment, 2 = NotMentioned, the order common to NLI sets on the hub.
# Used only when the dataset carries no ClassLabel names; when it does, the names win.
CONTRACT_NLI_HUB_LABELS: tuple[str, ...] = ("Contradiction", "Entailment", "NotMentioned")

_HYPOTHESIS_NUMBER = re.compile(r"(\d+)$")
_NLI_NAME_ALIASES = {
    "entailment": "Entailment",
    "contradiction": "Contradiction",
    "notmentioned": "NotMentioned",
    "neutral": "NotMentioned",
}


def hypothesis_order_key(hypothesis_id: str) -> tuple[int, str]:
    """Numeric order of official hypothesis keys: nda-2 before nda-10."""
    match = _HYPOTHESIS_NUMBER.search(hypothesis_id)
    return (int(match.group(1)) if match else 1 << 30, hypothesis_id)


def make_contract_nli_example(
    *, doc_id: str, hypothesis_id: str, document: str, hypothesis: str, label: str
) -> dspy.Example:
    """One (document, hypothesis) example; ids ride along but are not inputs."""
    return dspy.Example(
        id=f"{doc_id}/{hypothesis_id}",
        doc_id=doc_id,
        hypothesis_id=hypothesis_id,
        document=document,
        hypothesis=hypothesis,
        label=label,
    ).with_inputs(*CONTRACT_NLI_INPUTS)


def _hypotheses(data: Mapping[str, Any], path: Path) -> dict[str, str]:
    """The ``labels`` table as ``{nda-N: hypothesis text}`` in numeric key order."""
    labels = data.get("labels")
    if not isinstance(labels, Mapping) or not labels:
        raise DataError(
            f"{path}: no `labels` table of hypotheses; not an official ContractNLI file"
        )
    hypotheses = {}
    for key in sorted(labels, key=hypothesis_order_key):
        entry = labels[key]
        if not isinstance(entry, Mapping) or not isinstance(entry.get("hypothesis"), str):
            raise DataError(f"{path}: labels[{key!r}] has no `hypothesis` text")
        hypotheses[key] = entry["hypothesis"]
    return hypotheses


def _annotations(document: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    """The first annotation set's ``{nda-N: {choice, spans}}`` (official files have one)."""
    sets = document["annotation_sets"]
    if not isinstance(sets, list) or not sets or not isinstance(sets[0], Mapping):
        raise DataError(f"{where}: `annotation_sets` must be a non-empty list of objects")
    annotations = sets[0].get("annotations")
    if not isinstance(annotations, Mapping):
        raise DataError(f"{where}: annotation_sets[0] has no `annotations` object")
    return annotations


def load_contract_nli_file(path: str | Path) -> list[dspy.Example]:
    """Read an official ContractNLI JSON file into one example per (document, hypothesis)."""
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, Mapping) or not isinstance(data.get("documents"), list):
        raise DataError(
            f"{path}: expected an object with `documents` and `labels` (the official "
            "ContractNLI format, e.g. dev.json)"
        )
    hypotheses = _hypotheses(data, path)
    examples = []
    for index, document in enumerate(data["documents"]):
        where = f"{path}: documents[{index}]"
        if not isinstance(document, Mapping):
            raise DataError(f"{where}: expected an object, found {type(document).__name__}")
        require_fields(document, ("id", "text", "annotation_sets"), where)
        doc_id = id_field(document, "id", where)
        where = f"{where} (id {doc_id})"
        text = text_field(document, "text", where)
        annotations = _annotations(document, where)
        unknown = sorted(set(annotations) - set(hypotheses))
        if unknown:
            raise DataError(f"{where}: annotations for unknown hypotheses {', '.join(unknown)}")
        for hypothesis_id, hypothesis in hypotheses.items():
            if hypothesis_id not in annotations:
                raise DataError(f"{where}: no annotation for hypothesis {hypothesis_id}")
            annotation = annotations[hypothesis_id]
            choice = annotation.get("choice") if isinstance(annotation, Mapping) else None
            label = check_label(choice, CONTRACT_NLI_LABELS, f"{where} {hypothesis_id}")
            examples.append(
                make_contract_nli_example(
                    doc_id=doc_id,
                    hypothesis_id=hypothesis_id,
                    document=text,
                    hypothesis=hypothesis,
                    label=label,
                )
            )
    if not examples:
        raise DataError(f"{path}: no documents")
    logger.info("loaded %d ContractNLI pairs from %s", len(examples), path)
    return examples


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def normalise_nli_label_names(names: Sequence[str]) -> tuple[str, ...]:
    """Map hub ClassLabel names (``entailment``, ``neutral``, ...) to our label spelling."""
    mapped = []
    for name in names:
        key = re.sub(r"[^a-z]", "", name.lower())
        if key not in _NLI_NAME_ALIASES:
            raise DataError(
                f"{CONTRACT_NLI_HUB_ID}: unknown label name {name!r} in the hub's features; "
                f"expected entailment, contradiction, neutral or not mentioned"
            )
        mapped.append(_NLI_NAME_ALIASES[key])
    return tuple(mapped)


def contract_nli_examples_from_hub(
    rows: Iterable[Mapping[str, Any]],
    label_names: Sequence[str] = CONTRACT_NLI_HUB_LABELS,
) -> list[dspy.Example]:
    """Map hub rows ``{premise, hypothesis, label}`` to examples grouped by document.

    The hub has no document or hypothesis ids: a document is identified by a hash of its text,
    a hypothesis by a hash of its wording. Documents keep their order of first appearance and
    their hypotheses are sorted by wording, so the order is stable.
    """
    by_document: dict[str, list[tuple[str, str]]] = {}
    for row_number, row in enumerate(rows):
        where = f"{CONTRACT_NLI_HUB_ID} row {row_number}"
        require_fields(row, ("premise", "hypothesis", "label"), where)
        raw = row["label"]
        if isinstance(raw, int) and not isinstance(raw, bool):
            if not 0 <= raw < len(label_names):
                raise DataError(f"{where}: label index {raw} outside 0..{len(label_names) - 1}")
            raw = label_names[raw]
        label = check_label(raw, CONTRACT_NLI_LABELS, where)
        premise, hypothesis = text_field(row, "premise", where), text_field(row, "hypothesis", where)
        by_document.setdefault(premise, []).append((hypothesis, label))
    if by_document and len(by_document) * 2 > row_number + 1:
        raise DataError(
            f"{CONTRACT_NLI_HUB_ID}: {row_number + 1} rows hold {len(by_document)} different premises; "
            "these are evidence spans (config contractnli_a), not whole documents (contractnli_b)"
        )
    examples = []
    for document, pairs in by_document.items():
        doc_id = f"hub-{_short_hash(document)}"
        for hypothesis, label in sorted(pairs):
            examples.append(
                make_contract_nli_example(
                    doc_id=doc_id,
                    hypothesis_id=f"h-{_short_hash(hypothesis)}",
                    document=document,
                    hypothesis=hypothesis,
                    label=label,
                )
            )
    return examples


def load_contract_nli_hub(split: str) -> list[dspy.Example]:
    """Load one split (``train``, ``validation`` or ``test``) of the hub's whole-document
    configuration: one example per (NDA, hypothesis), as the official files give them."""
    dataset = load_hub_split(CONTRACT_NLI_HUB_ID, CONTRACT_NLI_HUB_CONFIG, split)
    names = class_label_names(dataset_features(dataset).get("label"))
    label_names = normalise_nli_label_names(names) if names else CONTRACT_NLI_HUB_LABELS
    return contract_nli_examples_from_hub(dataset, label_names)
