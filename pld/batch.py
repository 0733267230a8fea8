"""Batch prediction from JSONL: every valid line is answered, every bad line is reported.

Lines are checked before the first model call, so their problems show at once; a bad line (not
UTF-8, not JSON, not an object, a missing, null or non-string input field) and a prediction that
yields no label are reported with their line number and skipped. A backend fault (unreachable
server, missing model) stops the run: every later line would fail the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import dspy

from pld.errors import BackendError, DataError
from pld.evaluate import predict_one

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class InputLine:
    """One valid input line: its number, the input fields' values and its optional ``id``."""

    number: int
    values: dict[str, str]
    id: Any = None


@dataclass(frozen=True)
class BadLine:
    """A line that got no prediction, and why."""

    number: int
    reason: str
    id: Any = None

    def record(self) -> dict[str, Any]:
        return {"line": self.number, "id": self.id, "error": self.reason}


@dataclass
class BatchSummary:
    """What a batch did: records written, lines answered with a label, lines that failed (in order)."""

    written: int = 0
    answered: int = 0
    failed: list[BadLine] = field(default_factory=list)


def read_inputs(path: str | Path, input_fields: Sequence[str]) -> tuple[list[InputLine], list[BadLine]]:
    """Parse a JSONL file of inputs into valid lines and bad lines; an unreadable file is a DataError."""
    return parse_inputs(read_input_file(path), input_fields)


def read_input_file(path: str | Path) -> bytes:
    """The bytes of an input file, or one DataError line saying why there are none."""
    file = Path(path)
    if not file.is_file():
        what = "is a folder" if file.is_dir() else "does not exist"
        raise DataError(f"input file {file} {what}: pass a JSONL file with one JSON object per line.")
    try:
        return file.read_bytes()
    except OSError as exc:
        raise DataError(f"input file {file} cannot be read ({exc.strerror}).") from exc


def parse_inputs(data: bytes, input_fields: Sequence[str]) -> tuple[list[InputLine], list[BadLine]]:
    """Valid lines and bad lines of JSONL ``data``; lines are split on ``\\n`` only, as JSONL says."""
    good: list[InputLine] = []
    bad: list[BadLine] = []
    for number, raw in enumerate(data.removeprefix(_BOM).split(b"\n"), 1):
        parsed = parse_line(raw.rstrip(b"\r"), input_fields)
        if isinstance(parsed, str):
            bad.append(BadLine(number, parsed))
        elif parsed is not None:
            values, row_id = parsed
            good.append(InputLine(number, values, row_id))
    return good, bad


def parse_line(raw: bytes, input_fields: Sequence[str]) -> tuple[dict[str, str], Any] | str | None:
    """``(values, id)`` for a valid line, the reason for a bad one, None for a blank one."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text (byte {exc.start + 1} of the line); save the file as UTF-8"
    if not line.strip():
        return None
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg} at column {exc.colno})"
    if not isinstance(row, dict):
        return f"expected a JSON object with fields {', '.join(input_fields)}, found {type(row).__name__}"
    problems = []
    missing = [name for name in input_fields if name not in row]
    if missing:
        problems.append(f"missing input field(s) {', '.join(missing)}")
    for name in input_fields:
        value = row.get(name, "")
        if value is None:
            problems.append(f"field {name!r} is null; give it a string")
        elif not isinstance(value, str):
            problems.append(f"field {name!r} is a {type(value).__name__}, expected a string")
    if problems:
        return "; ".join(problems)
    return {name: row[name] for name in input_fields}, row.get("id")


def predict_lines(program: dspy.Module, lines: Sequence[InputLine], label_field: str,
                  artifact_id: str) -> Iterator[tuple[dict[str, Any], BadLine | None]]:
    """One output record per line, in order, with the problem when no label came back.

    A backend fault (``BackendError``, see ``pld.evaluate.predict_one``) propagates with its line.
    """
    lm = program.predictors()[0].lm
    for line in lines:
        example = dspy.Example(**line.values).with_inputs(*line.values)
        try:
            prediction, seconds = predict_one(program, example, lm)
        except BackendError as exc:
            raise BackendError(f"line {line.number}: {exc}") from exc
        label = None if prediction is None else prediction.get(label_field)
        problem = None if label is not None else BadLine(
            line.number, "no label: the model's answer could not be read as one of the labels", line.id)
        record = {"id": line.id, "line": line.number, label_field: label, "artifact": artifact_id,
                  "latency_s": round(seconds, 4)}
        yield record, problem


def input_fields(program: dspy.Module) -> list[str]:
    return list(program.predictors()[0].signature.input_fields)


def predict_file(program: dspy.Module, lines: Sequence[InputLine], bad: Sequence[BadLine], out: IO[str],
                 report: Callable[[BadLine], None]) -> BatchSummary:
    """Answer ``lines`` into ``out`` (JSONL); ``report`` each bad line, then each failed prediction."""
    manifest = program.pld_manifest
    summary = BatchSummary(failed=list(bad))
    for line in bad:
        report(line)
    try:
        for record, problem in predict_lines(program, lines, manifest.label_field, manifest.checksum[:12]):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
            summary.written += 1
            if problem is None:
                summary.answered += 1
            else:
                summary.failed.append(problem)
                report(problem)
    except BackendError as exc:
        raise BackendError(f"{exc} (stopped after {summary.written} prediction(s))") from exc
    summary.failed.sort(key=lambda line: line.number)
    return summary
