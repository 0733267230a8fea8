"""Student programs for the task suite and the loaders that build their ``dspy.Example``s."""

from .classifier import STRATEGIES, Classifier, Strategy
from .contract_nli import (
    DEFAULT_MAX_DOCUMENT_CHARS,
    TRUNCATION_MARKER,
    ContractNLIClassifier,
    truncate_document,
)
from .contract_nli_data import (
    CONTRACT_NLI_HUB_LABELS,
    contract_nli_examples_from_hub,
    load_contract_nli_file,
    load_contract_nli_hub,
)
from .data import balanced_sample, split_by_group
from .logiqa_data import (
    load_logiqa_file,
    load_logiqa_hub,
    logiqa_examples_from_hub,
    parse_logiqa,
)
from .stereoset_data import (
    STEREOSET_HUB_GOLD_LABELS,
    load_stereoset_file,
    load_stereoset_hub,
    stereoset_examples_from_hub,
)

__all__ = [
    "CONTRACT_NLI_HUB_LABELS",
    "DEFAULT_MAX_DOCUMENT_CHARS",
    "STEREOSET_HUB_GOLD_LABELS",
    "STRATEGIES",
    "TRUNCATION_MARKER",
    "Classifier",
    "ContractNLIClassifier",
    "Strategy",
    "balanced_sample",
    "contract_nli_examples_from_hub",
    "load_contract_nli_file",
    "load_contract_nli_hub",
    "load_logiqa_file",
    "load_logiqa_hub",
    "load_stereoset_file",
    "load_stereoset_hub",
    "logiqa_examples_from_hub",
    "parse_logiqa",
    "split_by_group",
    "stereoset_examples_from_hub",
    "truncate_document",
]
