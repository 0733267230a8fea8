"""House-policy data: generated deterministically, written as train/validation/test JSONL files
with the true policy beside them, and read back like any official data set.

A data directory may hold the files (``<data_dir>/policy_<domain>/``); where it does not, they are
generated once into PLD's cache folder and read from there, so every run reads files.
"""

from __future__ import annotations

import json
import logging
import os
import random
import tempfile
from pathlib import Path
from typing import Any

import dspy

from pld.errors import DataError

from .data import check_label, read_jsonl, require_fields
from .policy_domains import DOMAINS, PolicyDomain

logger = logging.getLogger(__name__)

DATA_VERSION = 1  # bump when the generator changes: cached files of another version are regenerated
SPLIT_SIZES: dict[str, int] = {"train": 300, "validation": 300, "test": 400}
POLICY_FILES: tuple[str, ...] = (*(f"{split}.jsonl" for split in SPLIT_SIZES), "policy.md")
DISTRACTOR_RATE = 0.2


def get_domain(name: str) -> PolicyDomain:
    if name not in DOMAINS:
        raise DataError(f"unknown policy domain {name!r}; known: {', '.join(sorted(DOMAINS))}")
    return DOMAINS[name]


def generate_rows(domain: PolicyDomain, n: int, rng: random.Random, seen: set[tuple[str, ...]]) -> list[dict[str, Any]]:
    """``n`` labelled rows, none repeating an input already in ``seen`` (which is updated)."""
    rows: list[dict[str, Any]] = []
    attempts = 0
    while len(rows) < n:
        attempts += 1
        if attempts > 50 * n:
            raise DataError(f"policy domain {domain.name!r} cannot make {n} distinct rows")
        row = _row(domain, rng)
        key = tuple(str(row[name]) for name in (*domain.fields, domain.text_field))
        if key in seen:
            continue
        seen.add(key)
        rows.append(row)
    return rows


def _row(domain: PolicyDomain, rng: random.Random) -> dict[str, Any]:
    values = {name: rng.choice(choices) for name, choices in domain.fields.items()}
    for override in domain.overrides:
        if rng.random() < override.rate:
            values[override.field] = override.value
    topic = rng.choice(sorted(domain.topics))
    template = rng.choice(domain.topics[topic])
    body = template.format(**{slot: rng.choice(options) for slot, options in domain.fillers.items()})
    distractor = rng.choice(domain.distractors) if rng.random() < DISTRACTOR_RATE else ""
    text = f"{rng.choice(domain.openers)}{body}{distractor}{rng.choice(domain.closers)}".strip()
    decided_by = next((o for o in domain.overrides if values[o.field] == o.value), None)
    label = decided_by.label if decided_by else topic
    return {**values, domain.text_field: text, domain.label_field: label, "topic": topic,
            "rule": decided_by.name if decided_by else "topic",
            "slice": decided_by.name if decided_by and label != topic else "topic"}


def write_policy_files(domain: PolicyDomain, folder: Path, *, seed: int = DATA_VERSION) -> Path:
    """Write train/validation/test JSONL and policy.md into ``folder`` (atomically: all or none)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{domain.name}-{seed}")
    seen: set[tuple[str, ...]] = set()
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    for split, size in SPLIT_SIZES.items():
        rows = generate_rows(domain, size, rng, seen)
        with open(staging / f"{split}.jsonl", "w", encoding="utf-8") as handle:
            for index, row in enumerate(rows):
                handle.write(json.dumps({"id": f"{domain.name}-{split}-{index}", **row}) + "\n")
    (staging / "policy.md").write_text(domain.policy_markdown(), encoding="utf-8")
    (staging / "VERSION").write_text(f"{DATA_VERSION}\n", encoding="utf-8")
    try:
        os.replace(staging, folder)  # an empty or missing folder is replaced in one step
    except OSError:
        if not _complete(folder):
            raise
        _remove(staging)  # another process wrote the same files first
    return folder


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in POLICY_FILES)


def _remove(folder: Path) -> None:
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()


def cache_folder(domain: PolicyDomain) -> Path:
    root = Path(os.environ.get("PLD_CACHE_DIR") or Path.home() / ".cache" / "pld")
    return root / "data" / f"policy_{domain.name}-v{DATA_VERSION}"


def policy_folder(domain: PolicyDomain, folder: Path) -> Path:
    """``folder`` when it holds the files; else the cache copy, generated on first use."""
    if _complete(folder):
        return folder
    cached = cache_folder(domain)
    if not _complete(cached):
        logger.info("generating the %s policy data into %s", domain.name, cached)
        write_policy_files(domain, cached)
    return cached


def load_policy_file(path: Path, domain: PolicyDomain) -> list[dspy.Example]:
    """One split's examples; ``topic``, ``rule`` (the policy line that decided) and ``slice`` (the
    override that changed the topic's label, else "topic") ride along for slice analysis, not inputs."""
    inputs = (*domain.fields, domain.text_field)
    examples = []
    for line, record in read_jsonl(path):
        where = f"{path}:{line}"
        require_fields(record, ("id", *inputs, domain.label_field, "rule", "slice"), where)
        check_label(record[domain.label_field], domain.labels, where)
        examples.append(dspy.Example(**record).with_inputs(*inputs))
    if not examples:
        raise DataError(f"{path}: no examples; delete the folder to regenerate it")
    return examples


def policy_text(folder: Path) -> str:
    """The true policy recorded beside the files."""
    return (folder / "policy.md").read_text(encoding="utf-8")
