"""An artifact's manifest: what was compiled, with which models and data, and the checksums that
seal it (``pld.artifacts.artifact`` reads and writes it)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

from pld.artifacts.backend_records import BackendRecord


class Manifest(BaseModel):
    schema_version: int
    pld_version: str
    dspy_version: str
    python_version: str
    task: str
    strategy: str
    signature: str
    label_field: str
    labels: list[str]
    rules: list[dict[str, Any]]
    baseline_val_macro_f1: float | None
    final_val_macro_f1: float | None
    teacher_model: str | None
    student_model: str
    model_digests: dict[str, str]
    data_fingerprints: dict[str, str]
    costs: dict[str, Any]
    created_at: str
    student_options: dict[str, Any] = {}  # how the student decodes labels (scoring, calibration)
    backends: dict[str, BackendRecord] = {}  # per role: backend, server (no credentials), settings
    embedder: str = "tfidf"  # the text embedder that clustered the micro-rules
    engine: dict[str, str] = {}  # embedded models: llama.cpp build and CPU (labels near ties depend on them)
    edited_by_hand: bool = False
    checksums: dict[str, str]
    checksum: str = ""

    def content_checksum(self) -> str:
        return payload_checksum(self.model_dump(mode="json"))


def payload_checksum(payload: dict[str, Any]) -> str:
    """SHA-256 of a manifest's fields as written (all but ``checksum``), so fields added by later
    versions with defaults do not invalidate artifacts written before them."""
    fields = {key: value for key, value in payload.items() if key != "checksum"}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode("utf-8")).hexdigest()
