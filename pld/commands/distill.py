"""``pld distill-data``: teacher labels and rationales as fine-tuning data for a student."""

from __future__ import annotations

import argparse
import time

from pld.commands.common import NOTE, TASK_NAMES, add_model_args, lm_options
from pld.commands.flags import ConfigFlags
from pld.config import DistillSettings

FLAGS = ConfigFlags(only=("trace_mode", "seed"))  # the trace settings, as PLD reads them
# The export's own settings; n_examples keeps `pld compile`'s flag name (--train) and --limit.
JOB_FLAGS = ConfigFlags(DistillSettings, exclude=("data_dir",), rename={"n_examples": ("train", "limit")},
                        none_text={"n_examples": "0"})


def register(commands: argparse._SubParsersAction) -> None:
    defaults = DistillSettings()
    parser = commands.add_parser(
        "distill-data", help="write teacher labels + rationales as fine-tuning data (multi-task and chat JSONL)",
        description="Export fine-tuning data from teacher traces. With the defaults it traces the examples "
                    "`pld compile` traces, so an export after a compile is answered from the cache.")
    parser.add_argument("--task", required=True, help=f"one of: {', '.join(TASK_NAMES)}")
    parser.add_argument("--out", required=True, help="output folder (replaced atomically)")
    parser.add_argument("--unlabeled", dest="trace_mode", action="store_const", const="label-free", default=argparse.SUPPRESS,
                        help="the teacher predicts the label (--trace-mode label-free); gold only filters and scores it")
    add_model_args(parser, roles=("teacher",))
    JOB_FLAGS.add(parser, defaults)
    FLAGS.add(parser, defaults.pld)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from pld.distill import distill_data

    settings = JOB_FLAGS.read(args, DistillSettings(data_dir=args.data_dir, pld=FLAGS.read(args, DistillSettings().pld)))
    started = time.perf_counter()
    data, path = distill_data(args.task, args.out, settings, lm_options(args, "teacher"))
    print(data.report.summary())
    print(f"wrote {path}/{{multitask,chat,traces}}.jsonl and report.json  (wall time {time.perf_counter() - started:.0f} s)")
    if args.teacher.startswith("local/"):
        print(NOTE)
