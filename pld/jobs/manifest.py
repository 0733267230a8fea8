"""One manifest builder for every artifact a job writes (``pld compile``, each method of
``pld compare``): what was compiled, for which student, from which data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import dspy

from pld.artifacts.artifact import fingerprint
from pld.artifacts.backend_records import BackendRecord, backend_record
from pld.backends.base import model_digests


def artifact_manifest(*, task: str, signature: type[dspy.Signature] | str, label_field: str, labels: Iterable[str],
                      teacher_model: str | None, student_model: str, teacher_lm: dspy.BaseLM | None,
                      student_lm: dspy.BaseLM, data: Mapping[str, list[dspy.Example]] | None = None,
                      data_fingerprints: Mapping[str, str] | None = None, student_options: Mapping[str, Any],
                      **fields: Any) -> dict[str, Any]:
    """The manifest fields every artifact has; ``fields`` adds the job's own (rules, scores, costs)."""
    lms = {"teacher": teacher_lm, "student": student_lm} if teacher_lm is not None else {"student": student_lm}
    backends = {role: backend_record(lm) for role, lm in lms.items()}
    name = signature if isinstance(signature, str) else f"{signature.__module__}.{signature.__name__}"
    fingerprints = dict(data_fingerprints or {name_: fingerprint(examples) for name_, examples in (data or {}).items()})
    return dict(task=task, signature=name, label_field=label_field, labels=list(labels), teacher_model=teacher_model,
                student_model=student_model, model_digests=model_digests(lms), data_fingerprints=fingerprints,
                student_options=dict(student_options), backends=backends, engine=engine_build(backends.values()),
                **fields)


def engine_build(records: Iterable[BackendRecord]) -> dict[str, str]:
    """The embedded engine's build, when a role ran on it (scores near label ties depend on it)."""
    if not any(record.kind == "local" for record in records):
        return {}
    from pld.backends.local.probe import engine_build as build

    return build()
