"""``pld evaluate``: score a student, or a compiled artifact, on a task."""

from __future__ import annotations

import argparse
import time
from typing import get_args

from pld.commands.common import NOTE, TASK_NAMES, add_model_args, decoding_overrides, lm_options
from pld.commands.types import positive_int
from pld.backends.options import DEFAULT_STUDENT
from pld.config import DataSource, Split, Strategy


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("evaluate", help="score a student or an artifact on a task (Macro F1, costs, latency)")
    parser.add_argument("artifact", nargs="?", help="a compiled artifact to score (default: the task's plain program)")
    parser.add_argument("--task", required=True, help=f"one of: {', '.join(TASK_NAMES)}")
    parser.add_argument("--student", default=None, help=f"model spec (default: the artifact's student, or {DEFAULT_STUDENT})")
    parser.add_argument("--limit", type=positive_int, default=None, help="score a label-balanced sample of N examples")
    parser.add_argument("--split", choices=get_args(Split), default="test")
    parser.add_argument("--strategy", choices=get_args(Strategy), default="zero-shot")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="concurrent requests (server backends only; default 1, or for several servers the sum "
                             "of their shares, 4 each)")
    parser.add_argument("--source", choices=get_args(DataSource), default="files",
                        help="data: the official files (--data-dir) or the HuggingFace hub; same splits (default: files)")
    add_model_args(parser, roles=("student",))
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from pld.artifacts.artifact import load
    from pld.jobs import evaluate_task
    from pld.artifacts.tables import eval_table

    started = time.perf_counter()
    program = None
    student = args.student or DEFAULT_STUDENT
    options = lm_options(args, "student")
    if args.artifact:  # the artifact's label decoding unless --label-mode / --calibrate say otherwise
        program = load(args.artifact, student_lm=args.student, task=args.task, options=options,
                       **decoding_overrides(args))
        student = args.student or program.pld_manifest.student_model
    report = evaluate_task(args.task, student, split=args.split, limit=args.limit, strategy=args.strategy,
                           data_dir=args.data_dir, source=args.source, seed=args.seed, options=options, num_threads=args.threads,
                           program=program)
    print(eval_table(args.task, student, args.artifact or args.strategy, report))
    for stats in report.endpoints or ():
        print(f"endpoint {stats.describe()}")
    print(f"wall time: {time.perf_counter() - started:.1f} s")
    if student.startswith("local/"):
        print(NOTE)
