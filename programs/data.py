"""Shared pieces of the data loaders: file reading with useful errors, group splits, sampling.

Every problem with a data file becomes a ``DataError`` that names the file (and line, where
there is one) and says how to fix it, so the CLI can print one line instead of a traceback.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dspy

from pld.errors import DataError

DATA_DIR_HINT = (
    "`--data-dir` (or PLD_DATA_DIR) must point at a folder with the official files "
    "(stereoset/train.jsonl, contract_nli/dev.json, logiqa/eval.txt, ...)"
)


def require_file(path: Path) -> Path:
    """Return ``path`` if it is a readable file, else raise a DataError that says what to fix."""
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise DataError(f"data file {path} {what}; {DATA_DIR_HINT}")
    return path


def read_text(path: Path) -> str:
    """Read a UTF-8 text file (a BOM is tolerated)."""
    require_file(path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not UTF-8 text (byte {exc.start}); re-download the official file"
        ) from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror})") from exc


def read_json(path: Path) -> Any:
    """Parse a whole JSON file; syntax errors name the line and column."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}:{exc.lineno}: invalid JSON at column {exc.colno} ({exc.msg}); "
            "the file is damaged or not in the official format"
        ) from exc


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line of a JSON Lines file."""
    for line_number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{path}:{line_number}: invalid JSON at column {exc.colno} ({exc.msg}); "
                "fix or remove that line"
            ) from exc
        if not isinstance(record, dict):
            raise DataError(
                f"{path}:{line_number}: expected a JSON object, found {type(record).__name__}"
            )
        yield line_number, record


def require_fields(record: Mapping[str, Any], fields: Sequence[str], where: str) -> None:
    """Raise a DataError naming the missing fields of ``record`` (``where`` is file:line)."""
    missing = [name for name in fields if name not in record]
    if missing:
        raise DataError(
            f"{where}: missing field(s) {', '.join(missing)}; expected {', '.join(fields)}"
        )


def check_label(value: Any, labels: Sequence[str], where: str) -> str:
    """Return ``value`` if it is one of ``labels``, else raise a DataError."""
    if value not in labels:
        raise DataError(f"{where}: label {value!r} is not one of {', '.join(labels)}")
    return str(value)


def split_by_group(
    examples: Sequence[dspy.Example],
    fractions: Sequence[float],
    *,
    seed: int,
    group_field: str | None = None,
) -> list[list[dspy.Example]]:
    """Split ``examples`` into ``len(fractions)`` parts without splitting a group.

    Groups (``group_field`` values, or single examples when it is None) are shuffled with a
    local ``random.Random(seed)``, so the same seed always gives the same parts. Within a part,
    groups follow the shuffled order and a group's examples stay consecutive, in file order.
    """
    if not fractions or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"fractions must be non-negative and sum to 1, got {list(fractions)}")
    groups: dict[Any, list[dspy.Example]] = {}
    for index, example in enumerate(examples):
        key = index if group_field is None else example[group_field]
        groups.setdefault(key, []).append(example)
    keys = list(groups)
    random.Random(seed).shuffle(keys)
    parts: list[list[dspy.Example]] = []
    start = 0
    cumulative = 0.0
    for position, fraction in enumerate(fractions):
        cumulative += fraction
        stop = len(keys) if position == len(fractions) - 1 else round(cumulative * len(keys))
        parts.append([example for key in keys[start:stop] for example in groups[key]])
        start = stop
    return parts


def balanced_sample(
    examples: Sequence[dspy.Example],
    n: int,
    label_field: str,
    seed: int = 0,
    *,
    group_field: str | None = None,
) -> list[dspy.Example]:
    """Pick ``n`` examples round-robin over the labels, deterministically for a given seed.

    Small train and validation sets for quick runs need every label represented; rare labels
    are exhausted first and the remaining slots go to the others. With ``group_field`` (e.g.
    ``"doc_id"``) the sample is put back in the input order, so the examples of one group stay
    consecutive (ContractNLI hypotheses of one document share a prompt prefix).
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        by_label[str(example[label_field])].append(index)
    queues = []
    for label in sorted(by_label):
        indices = by_label[label]
        rng.shuffle(indices)
        queues.append(indices)
    chosen: list[int] = []
    while len(chosen) < n and any(queues):
        for queue in queues:
            if queue and len(chosen) < n:
                chosen.append(queue.pop())
    if group_field is not None:
        first_seen: dict[Any, int] = {}
        for index, example in enumerate(examples):
            first_seen.setdefault(example[group_field], index)
        chosen.sort(key=lambda i: (first_seen[examples[i][group_field]], i))
    return [examples[i] for i in chosen]
