"""PLD's settings: one frozen, validated object, and the compile job's settings that hold it.

``PLDConfig`` is the one home of every plain-value PLD parameter: its type, default, allowed
range and description. ``PLD(...)`` validates through it, ``pld compile`` and ``pld compare``
generate their flags from it (``pld.commands.flags``), the docstring of ``PLD`` lists its field
descriptions. Plain data, importable without DSPy, so the command line's help stays fast.

A bad value is refused with one line (``ConfigError``) naming the setting, the value and what is
allowed, e.g. ``invalid PLD setting selection='exhastive': must be one of 'racing', 'exhaustive'
(did you mean 'exhaustive'?)``.
"""

from __future__ import annotations

import textwrap
from typing import ClassVar, Literal

from pydantic import Field

from pld.backends.options import DEFAULT_STUDENT, DEFAULT_TEACHER
from pld.backends.registry import spec_help
from pld.settings import Settings

TraceMode = Literal["label-conditioned", "label-free"]
Selection = Literal["racing", "exhaustive"]
ConfirmationTest = Literal["two-stage", "held-back"]
Strategy = Literal["zero-shot", "cot"]
DataSource = Literal["files", "hub"]
Split = Literal["train", "val", "test"]
SPEC_FORM = spec_help()  # from the backend table

class PLDConfig(Settings):
    """Every plain-value setting of ``PLD``; the models, metric and embedder are passed to ``PLD`` itself."""

    kind: ClassVar[str] = "PLD setting"

    trace_mode: TraceMode = Field(
        "label-conditioned",
        description="label-conditioned: the teacher reasons toward the gold label; label-free: it predicts "
                    "the label (usable without training labels).")
    eps: float = Field(0.4, gt=0, le=2, allow_inf_nan=False,
                       description="DBSCAN radius in cosine distance for clustering micro-rules.")
    min_samples: int = Field(6, ge=1, description="DBSCAN density; scaled down for small training sets.")
    max_traces: int | None = Field(
        None, ge=1, description="Teacher traces on a label-balanced sample of this many training examples (None: "
                                "all); conflict repair shows the teacher the student's failures on the same "
                                "sample, and every training example still counts for mined rules.")
    contrast_traces: bool = Field(
        False, description="Show the teacher, with each example, the most similar training example that has "
                           "another label (label-conditioned traces).")
    mine_rules: bool = Field(
        True, description="Also offer selection rules mined from the training labels: 'If the <field> is <value>, "
                          "the answer is <label>' for categorical input fields whose value predicts a label "
                          "(label-conditioned runs).")
    max_candidates: int = Field(
        8, ge=1, description="Most candidate rules handed to greedy selection (largest clusters first).")
    max_rules: int = Field(5, ge=1, description="Most rules in the compiled program.")
    min_gain: float = Field(0.01, ge=0, le=1, allow_inf_nan=False,
                            description="Smallest validation Macro F1 gain worth a rule or a repair (the effect "
                                        "size of the gain test; racing drops lists that cannot reach it).")
    max_repair_rounds: int = Field(2, ge=0, description="Most conflict-repair rounds (0: no repair).")
    max_teacher_calls: int | None = Field(None, ge=1, description="Cap on teacher calls (None: no cap).")
    max_student_calls: int | None = Field(
        None, ge=1, description="Cap on student calls that reach the model (None: no cap).")
    selection: Selection = Field(
        "racing",
        description="racing scores trial lists on growing validation subsets and drops a list as soon as its "
                    "paired gain interval says it cannot be accepted or cannot beat the leader (the same test "
                    "that accepts a rule); exhaustive scores every list on the whole validation set.")
    retry_futile: bool = Field(
        False, description="Retry, in every later round, candidates whose every list racing dropped as futile (gain's "
                           "upper end below min_gain). Off: lazy greedy, a rule that credibly did not help is not "
                           "tried again (its lists still count as failed tests), which saves most of a later "
                           "round's student calls.")
    confidence: float = Field(
        0.95, gt=0.5, lt=1, allow_inf_nan=False,
        description="Confidence of the gain test: a rule, reordering or repair enters only when the paired "
                    "bootstrap interval of its Macro F1 gain lies above 0, a paired permutation test agrees at "
                    "the same level, and the gain reaches min_gain.")
    resamples: int = Field(2000, ge=100, description="Bootstrap resamples per gain interval.")
    confirm_fraction: float = Field(
        0.3, ge=0, le=0.5, allow_inf_nan=False,
        description="Share of the validation set held back (per label, seeded) to confirm the final rule list "
                    "once; when it does not confirm, the best confirmed step (or no rules) is returned. "
                    "0: no confirmation.")
    confirmation: ConfirmationTest = Field(
        "two-stage",
        description="two-stage: the first accepted step's selection p-value (adjusted for its round's lists) and "
                    "its held-back p-value are combined (inverse normal), and a held-back gain <= 0 refuses it; "
                    "held-back: every step is tested on the held-back examples alone (stricter, less power).")
    min_confirm: int = Field(
        30, ge=1, description="Fewest held-back examples worth a confirmation; with fewer, every validation "
                              "example selects and nothing is held back.")
    num_threads: int | None = Field(
        None, ge=1, description="Concurrent student requests; None picks 1 for an embedded model, 4 for servers.")
    seed: int = Field(0, description="Seeds every random choice of the run.")
    progress: bool = Field(True, description="Show a progress bar per phase.")


# `pld compile`'s and `pld compare`'s PLD: a compile on 2 cores in minutes.
JOB_DEFAULTS = PLDConfig(max_candidates=6, max_rules=3, max_repair_rounds=1, max_teacher_calls=60,
                         max_student_calls=1500, max_traces=18)


class CompileSettings(Settings):
    """What ``pld compile`` runs with: the job (models, program, data) and the PLD settings.

    ``pld.seed`` also seeds the splits and samples, so one seed reproduces the whole job.
    """

    kind: ClassVar[str] = "compile setting"

    teacher: str = Field(DEFAULT_TEACHER, description=f"model spec of the teacher ({SPEC_FORM})")
    student: str = Field(DEFAULT_STUDENT, description=f"model spec of the student ({SPEC_FORM})")
    strategy: Strategy = Field("zero-shot", description="the task's student program")
    n_train: int | None = Field(
        200, ge=1, description="training examples: mined rules and repair; the teacher traces pld.max_traces of them "
                               "(None: all)")
    n_val: int | None = Field(
        100, ge=1, description="validation examples: rule selection, and confirmation on the part held back (None: all)")
    data_dir: str | None = Field(None, description="folder with the official data files")
    source: DataSource = Field("files", description="'files' (the official files) or 'hub' (the HuggingFace hub)")
    embedder: Literal["tfidf", "minilm"] = Field(
        "tfidf", description="how micro-rules are embedded for clustering: 'tfidf' (word overlap, no extra) or "
                             "'minilm' (all-MiniLM-L6-v2 sentence embeddings; the 'embed' extra)")
    pld: PLDConfig = Field(JOB_DEFAULTS, description="the optimizer's settings")


COMPILE_DEFAULTS = CompileSettings()


class DistillSettings(Settings):
    """What ``pld distill-data`` runs with; ``n_examples=None`` takes the whole split.

    The trace settings are PLD's own (``pld``): ``trace_mode`` ("label-free": the teacher predicts
    the label, the CLI's ``--unlabeled``), ``seed`` (samples, rationale choice) and ``progress``.
    A compile's ``CompileSettings.pld`` exports the very examples that compile traced.
    """

    kind: ClassVar[str] = "distill setting"

    teacher: str = Field(DEFAULT_TEACHER, description=f"model spec of the teacher ({SPEC_FORM})")
    rationale_fraction: float = Field(1.0, gt=0, le=1, allow_inf_nan=False,
                                      description="share of the examples that keep the teacher's rationale")
    split: Split = Field("train", description="the split whose examples are exported")
    n_examples: int | None = Field(COMPILE_DEFAULTS.n_train, ge=1,
                                   description="a label-balanced sample of this many examples, as `pld compile --train` "
                                               "picks them (None: the whole split)")
    k_shot: int = Field(5, ge=1, description="demonstrations in the k-shot prompt whose cost is compared")
    strategy: Strategy = Field(COMPILE_DEFAULTS.strategy, description="the task's student program")
    data_dir: str | None = Field(None, description="folder with the official data files")
    source: DataSource = Field("files", description="'files' (the official files) or 'hub' (the HuggingFace hub)")
    pld: PLDConfig = Field(COMPILE_DEFAULTS.pld, description="PLD's trace settings")

    @property
    def unlabeled(self) -> bool:
        return self.pld.trace_mode == "label-free"


def args_doc(indent: int = 12, width: int = 100) -> str:
    """``PLDConfig``'s fields as the lines of an ``Args:`` section (``PLD``'s docstring)."""
    lines = []
    for name, field in PLDConfig.model_fields.items():
        text = f"{name}: {field.description} Default {field.default!r}."
        lines += textwrap.wrap(text, width - indent, subsequent_indent="    ")
    return textwrap.indent("\n".join(lines), " " * indent)
