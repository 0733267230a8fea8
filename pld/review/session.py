"""One artifact under review: its student, its validation and held-back examples, and re-scoring.

The examples are the ones the compile used, rebuilt from the task's data with the run's seed and
sizes and checked against the fingerprint the manifest recorded, so a re-score measures the edited
list on exactly the examples the saved list was chosen on, with the same paired gain test. The
student's answers are remembered per rendered list (``StudentScorer``): a list asked twice, or the
saved list after its first re-score, costs no second call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dspy

from pld.artifacts.artifact import fingerprint, load, read_manifest
from pld.artifacts.edit import check_rules, edit_rules
from pld.artifacts.manifest import Manifest
from pld.artifacts.provenance import read_report
from pld.artifacts.report import RunReport
from pld.artifacts.review import diff_rules
from pld.budget import CallBudget
from pld.backends.lm import default_concurrency
from pld.backends.options import LMOptions
from pld.errors import ArtifactError, ConfigError
from pld.jobs.setup import job_data
from pld.metrics import macro_f1
from pld.pipeline.confirm import split_for_confirmation
from pld.pipeline.racing import GainTest
from pld.pipeline.render import base_instructions
from pld.pipeline.scoring import StudentScorer
from pld.rules import example_key

Progress = Callable[[int], object]


@dataclass
class ReviewSession:
    """An artifact, the examples it was scored on, and its student (bound as ``pld.load`` binds it)."""

    path: Path
    manifest: Manifest
    report: RunReport | None
    selection: list[dspy.Example]
    held_back: list[dspy.Example]
    scorer: StudentScorer
    test: GainTest
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def saved_rules(self) -> list[str]:
        return [rule["text"] for rule in self.manifest.rules]

    def compare(self, rules: Sequence[str], progress: Progress | None = None) -> dict[str, Any]:
        """The edited list against the saved one on the validation and held-back examples: Macro F1
        of each, the paired gain with its interval, and every answer that changed."""
        rules = check_rules(list(rules), "rule")
        with self.lock:  # one job at a time, and no save while it runs
            return self._compare(self.saved_rules, rules, progress)

    def _compare(self, saved: list[str], rules: list[str], progress: Progress | None) -> dict[str, Any]:
        self.scorer.on_query = progress
        try:
            return {part: self._compare_on(saved, rules, examples)
                    for part, examples in (("validation", self.selection), ("held-back", self.held_back))
                    if examples}
        finally:
            self.scorer.on_query = None

    def _compare_on(self, saved: list[str], rules: list[str], examples: list[dspy.Example]) -> dict[str, Any]:
        label_field = self.scorer.metric.label_field
        gold = [str(example[label_field]) for example in examples]
        before = self.scorer.labels(saved, examples)
        after = self.scorer.labels(rules, examples)
        gain = self.test.estimate(gold, before, after)
        changed = [{"id": str(example.get("id") or example_key(example)[:12]), "gold": g, "before": b, "after": a}
                   for example, g, b, a in zip(examples, gold, before, after) if a != b]
        return {"n": len(examples), "saved": self.scorer.scores(saved, examples).macro_f1,
                "edited": self.scorer.scores(rules, examples).macro_f1, "gain": gain.model_dump(),
                "gain_text": gain.describe(), "changed": changed}

    def contributions(self, progress: Progress | None = None) -> list[dict[str, Any]]:
        """Each saved rule's contribution now: the Macro F1 lost when it alone is removed, on the
        validation and held-back examples, and the answers it fixes and breaks."""
        rows = []
        with self.lock:
            saved = self.saved_rules
            results = [self._compare(saved, saved[:index] + saved[index + 1:], progress) for index in range(len(saved))]
        for index, (rule, result) in enumerate(zip(saved, results)):
            rows.append({"number": index + 1, "rule": rule, **{
                part: {"drop": -row["gain"]["gain"], "interval": [-row["gain"]["high"], -row["gain"]["low"]],
                       "fixes": [c for c in row["changed"] if c["before"] == c["gold"]],
                       "breaks": [c for c in row["changed"] if c["after"] == c["gold"]]}
                for part, row in result.items()}})
        return rows

    def diff(self, rules: Sequence[str]) -> list[str]:
        return diff_rules(self.saved_rules, list(rules))

    def save(self, rules: Sequence[str]) -> Manifest:
        """The edited list as the artifact's next version (recorded as a hand edit; the version
        replaced stays as ``.previous``; the same atomic write as ``pld edit``)."""
        if not self.lock.acquire(blocking=False):
            raise ConfigError("a re-score is running: save when it has finished")
        try:
            self.manifest = edit_rules(self.path, list(rules))
            return self.manifest
        finally:
            self.lock.release()


def open_session(path: str | Path, *, data_dir: str | None = None, student_lm: dspy.BaseLM | None = None,
                 student: str | None = None, options: LMOptions | None = None,
                 decoding: dict[str, Any] | None = None) -> ReviewSession:
    """The artifact at ``path`` with its examples rebuilt (and checked) and its student bound as
    ``pld.load`` binds it: the recorded spec (or ``student``) with ``options``; ``student_lm``, a
    ready LM, replaces it. A student that ran on a server needs its address again: review never
    sends the validation data anywhere the user did not name."""
    path = Path(path)
    manifest = read_manifest(path)
    report = read_report(path, manifest)
    if report is None:
        raise ArtifactError(f"{path} holds no run report (report.json): review needs the run's settings.")
    settings = report.settings
    seed = int(settings.get("seed", 0))
    data = job_data(manifest.task, {"val": report.n_val + report.n_held_back}, seed=seed, data_dir=data_dir)
    valset = data.val
    recorded = manifest.data_fingerprints.get("val")
    if recorded and fingerprint(valset) != recorded:
        raise ArtifactError(f"the validation examples of {path} could not be rebuilt from the task's data (fingerprint "
                            f"{fingerprint(valset)[:12]} is not the recorded {recorded[:12]}): pass --data-dir with the "
                            "data the compile used")
    selection, held_back = split_for_confirmation(
        valset, manifest.label_field, fraction=float(settings.get("confirm_fraction", 0.0)),
        min_examples=int(settings.get("min_confirm", 30)), seed=seed)
    program = data.task.make_program(manifest.strategy)
    if student_lm is None:
        options = options or LMOptions()
        recorded = manifest.backends.get("student")
        if (student or manifest.student_model) == manifest.student_model and recorded is not None and recorded.server \
                and options.api_base is None and options.router is None:
            raise ConfigError(f"{path}'s student ran at {recorded.describe()}: pass --api-base (or --student-api-base) "
                              "with the server to re-score on, or --student for another model")
        student_lm = load(path, student_lm=student, options=options, **(decoding or {})).predictors()[0].lm
    lm = student_lm
    metric = macro_f1(manifest.label_field, manifest.labels)
    scorer = StudentScorer(program, base_instructions(program), lm, metric, CallBudget("student"),
                           num_threads=default_concurrency(lm))
    test = GainTest(labels=tuple(manifest.labels), min_gain=float(settings.get("min_gain", 0.01)),
                    confidence=float(settings.get("confidence", 0.95)), resamples=int(settings.get("resamples", 2000)),
                    seed=seed)
    return ReviewSession(path, manifest, report, selection, held_back, scorer, test)
