"""``pld compile``: the main job — compile a task's program with PLD and write an artifact.

Every setting is a flag generated from the settings class that holds it (``pld.commands.flags``):
the job's from ``CompileSettings``, PLD's from ``PLDConfig`` with ``pld compile``'s defaults, the
models' from the model options; only the task and the output folder are the command's own.
"""

from __future__ import annotations

import argparse
import os
import time

from pld.commands.common import DEFAULT_TASK, NOTE, TASK_NAMES, add_model_args, role_options
from pld.commands.flags import ConfigFlags
from pld.config import CompileSettings

FLAGS = ConfigFlags()  # every PLDConfig field, under its own name (--seed is the model options' flag)
# The job's own settings (--data-dir is the model options' flag, shared by every command).
JOB_FLAGS = ConfigFlags(CompileSettings, exclude=("data_dir",), rename={"n_train": "train", "n_val": "val"})


def register(commands: argparse._SubParsersAction) -> None:
    defaults = CompileSettings()
    parser = commands.add_parser(
        "compile", help="compile a task's program with PLD and write an artifact",
        usage="%(prog)s [--task NAME] [--out DIR] [options]",
        description="Compile a task's program with PLD on the embedded (or named) models and write an artifact.")
    parser.add_argument("--task", default=DEFAULT_TASK, help=f"one of: {', '.join(TASK_NAMES)} (default: %(default)s)")
    parser.add_argument("--out", default=None, help="artifact directory (default: artifacts/<task>-<student>)")
    JOB_FLAGS.add(parser, defaults)
    add_model_args(parser)
    FLAGS.add(parser.add_argument_group("PLD settings (pld.PLDConfig)"), defaults.pld)
    parser.set_defaults(func=run)


def settings_from(args: argparse.Namespace) -> CompileSettings:
    """The job's settings from parsed flags; ``--seed`` seeds the data samples and PLD alike."""
    defaults = CompileSettings(data_dir=args.data_dir, pld=FLAGS.read(args, CompileSettings().pld))
    return JOB_FLAGS.read(args, defaults)


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
