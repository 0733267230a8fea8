"""Fine-tuning data from teacher traces: labels and rationales for training a student.

Zero-shot rationale distillation (Vöge, Gurgul & Lessmann, arXiv 2403.15886): the teacher labels
and explains inputs zero-shot; a small student is trained on both (``predict:`` / ``explain:``).
"""

from pld.distill.collect import (
    DistillData,
    build_distill_data,
    check_fraction,
    choose_rationale_examples,
    task_description,
)
from pld.distill.costs import (
    TeacherCall,
    Tokenizer,
    compare_k_shot,
    count_calls,
    prompt_messages,
    tokenizer_for,
)
from pld.distill.export import (
    LAYOUT_FILES,
    Layout,
    chat_rows,
    load_distill_dataset,
    multitask_rows,
    write_distill_data,
)
from pld.distill.job import DistillSettings, distill_data
from pld.distill.records import (
    DROP_REASONS,
    DistillCosts,
    DistillRecord,
    DistillReport,
    KShotComparison,
    TokenCount,
    drop_reason,
    names_other_label,
    restates_label,
)

__all__ = [
    "DROP_REASONS",
    "LAYOUT_FILES",
    "DistillCosts",
    "DistillData",
    "DistillRecord",
    "DistillReport",
    "DistillSettings",
    "KShotComparison",
    "Layout",
    "TeacherCall",
    "TokenCount",
    "Tokenizer",
    "build_distill_data",
    "chat_rows",
    "check_fraction",
    "choose_rationale_examples",
    "compare_k_shot",
    "count_calls",
    "distill_data",
    "drop_reason",
    "load_distill_dataset",
    "multitask_rows",
    "names_other_label",
    "prompt_messages",
    "restates_label",
    "task_description",
    "tokenizer_for",
    "write_distill_data",
]
