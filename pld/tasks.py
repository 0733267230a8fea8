"""The task suite: each task's signature, student program, label set and deterministic splits.

Splits never put one group in two parts: StereoSet clusters (the three fillings of one context)
and ContractNLI documents stay whole, so validation scores are not inflated by near-duplicates
of training examples. Shuffles use a local ``random.Random(seed)``: same seed, same splits.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import dspy

from pld.backends.options import LMOptions
from pld.backends.registry import can_calibrate
from pld.errors import ConfigError, DataError
from pld.programs import (
    Classifier,
    ContractNLIClassifier,
    balanced_sample,
    load_contract_nli_file,
    load_contract_nli_hub,
    load_logiqa_file,
    load_logiqa_hub,
    load_stereoset_file,
    load_stereoset_hub,
    split_by_group,
)
from pld.programs.policy_data import get_domain, load_policy_file, policy_folder
from pld.signatures import (
    CONTRACT_NLI_LABELS,
    LOGIQA_ANSWERS,
    STEREOSET_LABELS,
    BankMessageSignature,
    ContractNLISignature,
    ExpenseClaimSignature,
    LogiQASignature,
    RefundDeskSignature,
    StereoSetSignature,
    SupportRoutingSignature,
)

__all__ = ["TASKS", "Splits", "Task", "balanced_sample", "default_data_dir", "get_task"]

logger = logging.getLogger(__name__)

DATA_DIR_ENV = "PLD_DATA_DIR"
Source = Literal["files", "hub"]


@dataclass(frozen=True)
class Splits:
    """Train (teacher traces, rule extraction), val (rule selection) and test (reporting)."""

    train: list[dspy.Example]
    val: list[dspy.Example]
    test: list[dspy.Example]


FilesLoader = Callable[[Path, int], Splits]
HubLoader = Callable[[int], Splits]


@dataclass(frozen=True)
class Task:
    """Everything PLD needs to know about one task of the suite.

    Args:
        name: registry key, e.g. ``"stereoset"``.
        signature: the task's ``dspy.Signature``; its label field is typed ``Literal[...]``.
        label_field: the output field that holds the gold label.
        labels: the full label set (Macro F1 is averaged over all of them).
        description: one line for ``--help`` and reports.
        group_field: example field whose values must not be split (None: none).
        data_subdir: folder of the official files under the data directory.
        data_files: the official files that folder must hold.
        program_class: student program built by ``make_program``.
        files_loader: builds the splits from ``(folder, seed)``.
        hub_loader: builds the splits from the HuggingFace hub given ``seed``.
        group_sampling: sample whole groups (``group_field``) together, so examples that share a
            long prompt prefix stay consecutive (ContractNLI: one document, many hypotheses).
        slice_field: example field naming the policy override that changed the gold label (house-policy
            tasks; "topic" where none did), for per-slice accuracy; None: no slices.
        calibrate: whether a student whose engine scores labels (embedded, one completions server)
            calibrates them by default (contextual calibration), chosen from measurements:
            ``benchmarks/CALIBRATION.md``.
    """

    name: str
    signature: type[dspy.Signature]
    label_field: str
    labels: tuple[str, ...]
    description: str
    group_field: str | None = None
    data_subdir: str = ""
    data_files: tuple[str, ...] = ()
    program_class: type[Classifier] = Classifier
    files_loader: FilesLoader | None = field(default=None, repr=False, compare=False)
    hub_loader: HubLoader | None = field(default=None, repr=False, compare=False)
    group_sampling: bool = False
    slice_field: str | None = None
    calibrate: bool = False

    def default_options(self, spec: str, options: LMOptions) -> LMOptions:
        """``options`` for a student ``spec`` with "the task's default" (``calibrate=None``)
        settled: this task's calibration where the student's engine can calibrate (embedded, or one
        completions server), none elsewhere (Ollama, chat routes, pools)."""
        if options.calibrate is not None:
            return options
        return options.replace(calibrate=self.calibrate and can_calibrate(spec, options))

    def make_program(self, strategy: str = "zero-shot") -> dspy.Module:
        """A fresh student program (``"zero-shot"`` or ``"cot"``) over this task's signature."""
        return self.program_class(self.signature, strategy)  # type: ignore[arg-type]

    def data_folder(self, data_dir: str | Path | None = None) -> Path:
        """The folder with this task's files: ``<data_dir>/<data_subdir>``, or ``data_dir``
        itself when the files lie directly in it."""
        root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
        nested = root / self.data_subdir
        if not nested.is_dir() and any((root / name).is_file() for name in self.data_files):
            return root
        return nested

    def load_splits(
        self, data_dir: str | Path | None = None, *, seed: int = 0, source: Source = "files"
    ) -> Splits:
        """Load the task's data and split it deterministically for ``seed``."""
        if source == "files":
            if self.files_loader is None:
                raise ConfigError(f"task {self.name!r} cannot be loaded from files")
            splits = self.files_loader(self.data_folder(data_dir), seed)
        elif source == "hub":
            if self.hub_loader is None:
                raise ConfigError(f"task {self.name!r} cannot be loaded from the hub")
            splits = self.hub_loader(seed)
        else:
            raise ConfigError(f"unknown data source {source!r}; use 'files' or 'hub'")
        logger.info(
            "%s (%s, seed %d): %d train, %d val, %d test examples",
            self.name, source, seed, len(splits.train), len(splits.val), len(splits.test),
        )
        return splits


def default_data_dir() -> Path:
    """``$PLD_DATA_DIR``, else ``../shared/data`` from the working directory, else ``./data``."""
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    shared = Path.cwd().parent / "shared" / "data"
    return shared if shared.is_dir() else Path.cwd() / "data"


def _stereoset_files(folder: Path, seed: int) -> Splits:
    """train.jsonl split 50/50 by cluster into train/val; validation.jsonl is the test set."""
    rows = load_stereoset_file(folder / "train.jsonl")
    train, val = split_by_group(rows, (0.5, 0.5), seed=seed, group_field="cluster")
    return Splits(train=train, val=val, test=load_stereoset_file(folder / "validation.jsonl"))


def _stereoset_hub(seed: int) -> Splits:
    """The hub's only labelled split, 25/25/50 by cluster (the files' proportions)."""
    rows = load_stereoset_hub("validation")
    train, val, test = split_by_group(rows, (0.25, 0.25, 0.5), seed=seed, group_field="cluster")
    return Splits(train=train, val=val, test=test)


def _contract_nli_files(folder: Path, seed: int) -> Splits:
    """train_50docs.json split 50/50 by document into train/val; dev.json is the test set."""
    pairs = load_contract_nli_file(folder / "train_50docs.json")
    train, val = split_by_group(pairs, (0.5, 0.5), seed=seed, group_field="doc_id")
    return Splits(train=train, val=val, test=load_contract_nli_file(folder / "dev.json"))


def _contract_nli_hub(seed: int) -> Splits:
    """The hub's train split 50/50 by document; its validation split (official dev) is test."""
    pairs = load_contract_nli_hub("train")
    train, val = split_by_group(pairs, (0.5, 0.5), seed=seed, group_field="doc_id")
    return Splits(train=train, val=val, test=load_contract_nli_hub("validation"))


def _logiqa_split(records: list[dspy.Example], seed: int) -> Splits:
    train, val, test = split_by_group(records, (0.4, 0.2, 0.4), seed=seed)
    return Splits(train=train, val=val, test=test)


def _logiqa_files(folder: Path, seed: int) -> Splits:
    """eval.txt shuffled and split 40/20/40 into train/val/test."""
    return _logiqa_split(load_logiqa_file(folder / "eval.txt"), seed)


def _logiqa_hub(seed: int) -> Splits:
    """The hub's validation split (built from the same Eval.txt), split 40/20/40."""
    return _logiqa_split(load_logiqa_hub("validation"), seed)


def _policy_files(domain_name: str) -> FilesLoader:
    """A house-policy domain's files (generated into the cache when the data folder lacks them)."""

    def load(folder: Path, seed: int) -> Splits:
        domain = get_domain(domain_name)
        source = policy_folder(domain, folder)
        train, val, test = (load_policy_file(source / f"{split}.jsonl", domain)
                            for split in ("train", "validation", "test"))
        return Splits(train=train, val=val, test=test)

    return load


def _policy_task(domain_name: str, signature: type[dspy.Signature], description: str) -> Task:
    """A house-policy task: its label field, labels and files are its domain's
    (``pld.programs.policy_domains``); the signature's ``Literal`` must list the same labels."""
    domain = get_domain(domain_name)
    return Task(name=f"policy_{domain.name}", signature=signature, label_field=domain.label_field,
                labels=domain.labels, description=description, data_subdir=f"policy_{domain.name}",
                files_loader=_policy_files(domain.name), slice_field="slice")


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            name="stereoset",
            signature=StereoSetSignature,
            label_field="label",
            labels=STEREOSET_LABELS,
            description="StereoSet intrasentence: stereotype / anti-stereotype / unrelated",
            group_field="cluster",
            data_subdir="stereoset",
            data_files=("train.jsonl", "validation.jsonl"),
            files_loader=_stereoset_files,
            hub_loader=_stereoset_hub,
            calibrate=True,  # +0.106 [+0.009, +0.203] validation Macro F1, 3 seeds x 60 rows (benchmarks/CALIBRATION.md)
        ),
        Task(
            name="contract_nli",
            signature=ContractNLISignature,
            label_field="label",
            labels=CONTRACT_NLI_LABELS,
            description="ContractNLI: does an NDA entail, contradict or not mention a hypothesis",
            group_field="doc_id",
            data_subdir="contract_nli",
            data_files=("train_50docs.json", "dev.json"),
            program_class=ContractNLIClassifier,
            files_loader=_contract_nli_files,
            hub_loader=_contract_nli_hub,
            group_sampling=True,
            calibrate=False,  # +0.096 [-0.027, +0.219] validation Macro F1, 3 seeds x 60 rows (benchmarks/CALIBRATION.md)
        ),
        Task(
            name="logiqa",
            signature=LogiQASignature,
            label_field="answer",
            labels=LOGIQA_ANSWERS,
            description="LogiQA: four-option logical reasoning questions (answer a-d)",
            data_subdir="logiqa",
            data_files=("eval.txt",),
            files_loader=_logiqa_files,
            hub_loader=_logiqa_hub,
            calibrate=True,  # +0.062 [+0.021, +0.103] validation Macro F1, 3 seeds x 60 rows (benchmarks/CALIBRATION.md)
        ),
        _policy_task("support", SupportRoutingSignature,
                     "house policy: route support tickets (billing / technical / priority); the plan and channel "
                     "override the topic"),
        _policy_task("refunds", RefundDeskSignature,
                     "house policy: decide return requests (refund / credit / deny); payment and membership "
                     "override the reason"),
        _policy_task("expenses", ExpenseClaimSignature,
                     "house policy: decide expense claims (approve / reject / escalate); the employee type and "
                     "project override what the expense was for"),
        _policy_task("banking", BankMessageSignature,
                     "house policy: route bank customers' messages (cards / loans / relationship / collections); "
                     "the account's status and tier override the topic"),
    )
}


def get_task(name: str) -> Task:
    """The registered task called ``name`` (``contract-nli`` and ``contract_nli`` both work)."""
    key = name.strip().lower().replace("-", "_")
    if key not in TASKS:
        raise DataError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}")
    return TASKS[key]
