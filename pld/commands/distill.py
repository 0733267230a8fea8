"""``pld distill-data``: teacher labels and rationales as fine-tuning data for a student."""

from __future__ import annotations

import argparse
import time
from typing import get_args

from pld.backends.registry import spec_help
from pld.commands.common import NOTE, TASK_NAMES, add_model_args, lm_options
from pld.commands.flags import ConfigFlags
from pld.commands.types import non_negative_int, positive_int
from pld.config import CompileSettings, DataSource, Split, Strategy

FLAGS = ConfigFlags(only=("trace_mode", "seed"))  # the trace settings, as PLD reads them


def register(commands: argparse._SubParsersAction) -> None:
    defaults = CompileSettings()
    parser = commands.add_parser(
        "distill-data", help="write teacher labels + rationales as fine-tuning data (multi-task and chat JSONL)",
        description="Export fine-tuning data from teacher traces. With the defaults it traces the examples "
                    "`pld compile` traces, so an export after a compile is answered from the cache.")
    parser.add_argument("--task", required=True, help=f"one of: {', '.join(TASK_NAMES)}")
    parser.add_argument("--teacher", default=defaults.teacher, help=f"teacher model spec: {spec_help()} (default: %(default)s)")
    parser.add_argument("--out", required=True, help="output folder (replaced atomically)")
    parser.add_argument("--unlabeled", dest="trace_mode", action="store_const", const="label-free", default=argparse.SUPPRESS,
                        help="the teacher predicts the label (--trace-mode label-free); gold only filters and scores it")
    parser.add_argument("--rationale-fraction", type=float, default=1.0,
                        help="share of examples that keep a rationale, in (0, 1] (default 1)")
    parser.add_argument("--split", choices=get_args(Split), default="train")
    parser.add_argument("--train", "--limit", dest="n_examples", type=non_negative_int, default=defaults.n_train,
                        help="label-balanced sample of N examples, as `pld compile --train N` picks them; "
                             "0 takes the whole split (default %(default)s)")
    parser.add_argument("--k-shot", type=positive_int, default=5, help="demos in the k-shot prompt compared with zero-shot")
    parser.add_argument("--strategy", choices=get_args(Strategy), default=defaults.strategy,
                        help="the student program whose instructions describe the task (as in `pld compile`)")
    parser.add_argument("--source", choices=get_args(DataSource), default="files",
                        help="data: the official files (--data-dir) or the HuggingFace hub; same splits (default: files)")
    add_model_args(parser, roles=("teacher",))
    FLAGS.add(parser, defaults.pld)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from pld.distill import DistillSettings, distill_data

    settings = DistillSettings(
        teacher=args.teacher, rationale_fraction=args.rationale_fraction, split=args.split,
        n_examples=args.n_examples or None, k_shot=args.k_shot, strategy=args.strategy, data_dir=args.data_dir, source=args.source,
        pld=FLAGS.read(args, CompileSettings().pld),
    )
    started = time.perf_counter()
    data, path = distill_data(args.task, args.out, settings, lm_options(args, "teacher"))
    print(data.report.summary())
    print(f"wrote {path}/{{multitask,chat,traces}}.jsonl and report.json  (wall time {time.perf_counter() - started:.0f} s)")
    if args.teacher.startswith("local/"):
        print(NOTE)
