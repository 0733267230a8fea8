"""``pld compile``: the main job — compile a task's program with PLD and write an artifact."""

from __future__ import annotations

import argparse
import os
import time

from pld.commands.common import NOTE, add_model_args, lm_options
from pld.commands.types import non_negative_int, positive_int
from pld.jobs import CompileSettings
from pld.backends.options import DEFAULT_STUDENT, DEFAULT_TEACHER
from pld.tasks import TASKS


def register(commands: argparse._SubParsersAction) -> None:
    defaults = CompileSettings()
    parser = commands.add_parser("compile", help="compile a task's program with PLD and write an artifact")
    parser.add_argument("--task", default="stereoset", help=f"one of: {', '.join(TASKS)}")
    parser.add_argument("--teacher", default=DEFAULT_TEACHER)
    parser.add_argument("--student", default=DEFAULT_STUDENT)
    parser.add_argument("--out", default=None, help="artifact directory (default: artifacts/<task>-<student>)")
    parser.add_argument("--strategy", choices=["zero-shot", "cot"], default=defaults.strategy)
    parser.add_argument("--train", type=positive_int, default=defaults.n_train, help="training examples (teacher traces)")
    parser.add_argument("--val", type=positive_int, default=defaults.n_val, help="validation examples (rule selection)")
    parser.add_argument("--trace-mode", choices=["label-conditioned", "label-free"], default=defaults.trace_mode)
    parser.add_argument("--max-candidates", type=positive_int, default=defaults.max_candidates)
    parser.add_argument("--max-rules", type=positive_int, default=defaults.max_rules)
    parser.add_argument("--min-gain", type=float, default=defaults.min_gain)
    parser.add_argument("--max-repair-rounds", type=non_negative_int, default=defaults.max_repair_rounds)
    parser.add_argument("--max-teacher-calls", type=positive_int, default=defaults.max_teacher_calls)
    parser.add_argument("--max-student-calls", type=positive_int, default=defaults.max_student_calls)
    parser.add_argument("--selection", choices=["auto", "racing", "exhaustive"], default=defaults.selection,
                        help="racing drops weak rule lists on small validation subsets first; "
                             "auto races from 200 validation examples on")
    add_model_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from pld.jobs import compile_task

    settings = CompileSettings(
        teacher=args.teacher, student=args.student, strategy=args.strategy, n_train=args.train, n_val=args.val,
        max_candidates=args.max_candidates, max_rules=args.max_rules, min_gain=args.min_gain,
        max_repair_rounds=args.max_repair_rounds, max_teacher_calls=args.max_teacher_calls,
        max_student_calls=args.max_student_calls, trace_mode=args.trace_mode, seed=args.seed, data_dir=args.data_dir,
        selection=args.selection,
    )
    out = args.out or os.path.join("artifacts", f"{args.task}-{args.student.split('/')[-1].replace(':', '-')}")
    started = time.perf_counter()
    path = compile_task(args.task, out, settings, lm_options(args))
    print((path / "report.md").read_text(encoding="utf-8"))
    print(f"artifact: {path}  (wall time {time.perf_counter() - started:.0f} s)")
    if args.student.startswith("local/") or args.teacher.startswith("local/"):
        print(NOTE)
