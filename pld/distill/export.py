"""Fine-tuning files: multi-task pairs, chat records, raw records and the report, written atomically.

Layouts (one JSON object per line):
    ``multitask.jsonl``  ``{"id", "task", "input", "target"}``; ``task`` is ``predict`` (input
                         ``"predict: <input>"``, target the label) or ``explain`` (input
                         ``"explain: <input>"``, target the rationale), as in 2403.15886.
    ``chat.jsonl``       ``{"id", "messages": [system, user, assistant]}``; the assistant answers
                         ``"<label_field>: <label>"`` and, when kept, ``"\\nrationale: <text>"``.
                         The label comes first, so a student can stop after one line.
    ``traces.jsonl``     every ``DistillRecord``, dropped ones included with their reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pld.artifacts.atomic import atomic_directory
from pld.distill.collect import DistillData
from pld.distill.records import DistillRecord
from pld.errors import ConfigError, DataError

Layout = Literal["multitask", "chat", "traces"]
LAYOUT_FILES: dict[str, str] = {"multitask": "multitask.jsonl", "chat": "chat.jsonl", "traces": "traces.jsonl"}
PREDICT_PREFIX, EXPLAIN_PREFIX = "predict: ", "explain: "


def multitask_rows(records: Iterable[DistillRecord]) -> list[dict[str, str]]:
    """``predict:`` → label for every kept record, ``explain:`` → rationale where one was kept."""
    rows = []
    for record in records:
        if not record.kept:
            continue
        rows.append({"id": record.id, "task": "predict", "input": PREDICT_PREFIX + record.input_text,
                     "target": str(record.teacher_label)})
        if record.rationale is not None:
            rows.append({"id": record.id, "task": "explain", "input": EXPLAIN_PREFIX + record.input_text,
                         "target": record.rationale})
    return rows


def chat_rows(records: Iterable[DistillRecord], system: str, label_field: str) -> list[dict[str, Any]]:
    """System: the task; user: the input; assistant: the label, then the rationale when kept."""
    rows = []
    for record in records:
        if not record.kept:
            continue
        answer = f"{label_field}: {record.teacher_label}"
        if record.rationale is not None:
            answer += f"\nrationale: {record.rationale}"
        rows.append({"id": record.id, "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": record.input_text},
            {"role": "assistant", "content": answer},
        ]})
    return rows


def _jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write_distill_data(data: DistillData, out: str | Path) -> Path:
    """Write every file into a staging folder, then move it into place: an interrupted run
    leaves ``out`` as it was (absent, or the previous export)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = data.report
    files = {
        "multitask.jsonl": _jsonl(multitask_rows(data.records)),
        "chat.jsonl": _jsonl(chat_rows(data.records, data.task_description, report.label_field)),
        "traces.jsonl": _jsonl(record.model_dump(mode="json") for record in data.records),
        "report.json": report.model_dump_json(indent=2) + "\n",
    }
    with atomic_directory(out) as staging:
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
    return out


def load_distill_dataset(path: str | Path, layout: Layout = "multitask"):  # -> datasets.Dataset
    """One layout of an export as a ``datasets.Dataset`` (``"multitask"``, ``"chat"`` or ``"traces"``)."""
    import datasets

    if layout not in LAYOUT_FILES:
        raise ConfigError(f"unknown layout {layout!r}; use one of {', '.join(LAYOUT_FILES)}")
    file = Path(path) / LAYOUT_FILES[layout]
    if not file.is_file():
        raise DataError(f"{file} does not exist; is {path} a folder written by `pld distill-data`?")
    rows = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    return datasets.Dataset.from_list(rows)
