"""``pld compile``: the main job — compile a task's program with PLD and write an artifact.

The job's own flags (task, models, data, output) are written here; every PLD setting is a flag
generated from ``PLDConfig`` (``pld.commands.flags``), with ``pld compile``'s defaults.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import get_args

from pld.backends.registry import spec_help
from pld.commands.common import DEFAULT_TASK, NOTE, TASK_NAMES, add_model_args, role_options
from pld.commands.flags import ConfigFlags
from pld.commands.types import positive_int
from pld.config import CompileSettings, DataSource, Strategy

FLAGS = ConfigFlags()  # every PLDConfig field, under its own name (--seed is the model options' flag)


def register(commands: argparse._SubParsersAction) -> None:
    defaults = CompileSettings()
    parser = commands.add_parser(
        "compile", help="compile a task's program with PLD and write an artifact",
        usage="%(prog)s [--task NAME] [--out DIR] [options]",
        description="Compile a task's program with PLD on the embedded (or named) models and write an artifact.")
    parser.add_argument("--task", default=DEFAULT_TASK, help=f"one of: {', '.join(TASK_NAMES)} (default: %(default)s)")
    parser.add_argument("--teacher", default=defaults.teacher, help=f"teacher model spec: {spec_help()} (default: %(default)s)")
    parser.add_argument("--student", default=defaults.student, help=f"student model spec: {spec_help()} (default: %(default)s)")
    parser.add_argument("--out", default=None, help="artifact directory (default: artifacts/<task>-<student>)")
    parser.add_argument("--strategy", choices=get_args(Strategy), default=defaults.strategy)
    parser.add_argument("--train", type=positive_int, default=defaults.n_train, help="training examples (teacher traces)")
    parser.add_argument("--val", type=positive_int, default=defaults.n_val, help="validation examples (rule selection)")
    parser.add_argument("--source", choices=get_args(DataSource), default="files",
                        help="data: the official files (--data-dir) or the HuggingFace hub; same splits (default: files)")
    parser.add_argument("--embedder", choices=get_args(CompileSettings.model_fields["embedder"].annotation),
                        default=defaults.embedder,
                        help=CompileSettings.model_fields["embedder"].description + " (default: %(default)s)")
    add_model_args(parser)
    FLAGS.add(parser.add_argument_group("PLD settings (pld.PLDConfig)"), defaults.pld)
    parser.set_defaults(func=run)


def settings_from(args: argparse.Namespace) -> CompileSettings:
    """The job's settings from parsed flags; ``--seed`` seeds the data samples and PLD alike."""
    return CompileSettings(teacher=args.teacher, student=args.student, strategy=args.strategy, n_train=args.train,
                           n_val=args.val, data_dir=args.data_dir, source=args.source, embedder=args.embedder,
                           pld=FLAGS.read(args, CompileSettings().pld))


def run(args: argparse.Namespace) -> None:
    from pld.jobs import compile_task

    settings = settings_from(args)
    out = args.out or os.path.join("artifacts", f"{args.task}-{args.student.split('/')[-1].replace(':', '-')}")
    started = time.perf_counter()
    path = compile_task(args.task, out, settings, role_options(args))
    print((path / "report.md").read_text(encoding="utf-8"))
    print(f"artifact: {path}  (wall time {time.perf_counter() - started:.0f} s)")
    if args.student.startswith("local/") or args.teacher.startswith("local/"):
        print(NOTE)
