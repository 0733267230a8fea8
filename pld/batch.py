"""Batch prediction from JSONL: every line is checked before the first model call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import dspy

from pld.errors import DataError
from pld.evaluate import predict_one


def read_inputs(path: str | Path, input_fields: list[str]) -> list[dict]:
    """Parse and check a JSONL file of inputs; a bad line is reported with its number."""
    file = Path(path)
    if not file.is_file():
        raise DataError(f"No input file at {file}: pass a JSONL file with one JSON object per line.")
    rows = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{file}:{number}: not valid JSON ({exc.msg}).") from exc
        if not isinstance(row, dict):
            raise DataError(f"{file}:{number}: expected a JSON object with fields {', '.join(input_fields)}.")
        missing = [name for name in input_fields if name not in row]
        if missing:
            raise DataError(f"{file}:{number}: missing input field(s) {', '.join(missing)}.")
        rows.append(row)
    return rows


def predict_rows(program: dspy.Module, rows: list[dict], input_fields: list[str], label_field: str,
                 artifact_id: str) -> Iterator[dict]:
    """One output record per input row, in order; a failed prediction gives ``label: null``."""
    lm = program.predictors()[0].lm
    for row in rows:
        example = dspy.Example(**{name: row[name] for name in input_fields}).with_inputs(*input_fields)
        prediction, seconds = predict_one(program, example, lm)
        label = None if prediction is None else prediction.get(label_field)
        record = {"id": row.get("id"), label_field: label, "artifact": artifact_id, "latency_s": round(seconds, 4)}
        yield record


def write_jsonl(records: Iterator[dict], handle: IO[str]) -> int:
    count = 0
    for record in records:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        count += 1
    return count
