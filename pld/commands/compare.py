"""``pld compare``: PLD and DSPy's other optimizers on the same data, student, teacher and budget."""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

from pld.backends.options import RoleOptions
from pld.commands.common import NOTE, add_model_args, role_options
from pld.commands.flags import ConfigFlags
from pld.compare.settings import COMPARE_PLD, CompareSettings

# The pld row's settings as --pld-* flags: the prefix says they change one row, not every method.
# --seed and --budget are the comparison's own, the same for every method; progress bars stay off.
FLAGS = ConfigFlags(prefix="pld-", exclude=("seed", "max_student_calls", "num_threads", "progress"))
# The comparison's own settings (--seed and --data-dir are the model options' flags, shared).
JOB_FLAGS = ConfigFlags(CompareSettings, exclude=("data_dir",),
                        rename={"methods": "optimizers", "n_train": "train", "n_val": "val", "n_test": "test",
                                "fail_methods": "fail-method"},
                        none_text={"student_max_tokens": "0"})


def register(commands: argparse._SubParsersAction) -> None:
    defaults = CompareSettings()
    parser = commands.add_parser(
        "compare", help="compare PLD with DSPy optimizers (quality, compile cost, run-time cost)",
        description="Run each method on identical splits with the same student and teacher; write results.json, "
                    "results.md, two PNG plots and one artifact per method to --out. Re-running with the same "
                    "arguments reuses finished methods (resume).")
    parser.add_argument("--out", default=None, help="output folder (default: comparisons/<task>-<student>)")
    add_model_args(parser, own=("student-max-tokens",))  # the student's cap is compare's own setting
    JOB_FLAGS.add(parser, defaults)
    FLAGS.add(parser.add_argument_group("PLD settings of the pld row (pld.PLDConfig)"), COMPARE_PLD)
    parser.set_defaults(func=run)


def compare_roles(args: argparse.Namespace) -> RoleOptions:
    """Each role's options from its flags; the student's token cap is ``--student-max-tokens``, which
    ``CompareSettings`` carries, falling back to the shared ``--max-tokens`` when it is none."""
    roles = role_options(args)
    return dataclasses.replace(roles, student=roles.student.replace(max_tokens=args.max_tokens))


def run(args: argparse.Namespace) -> None:
    from pld.compare import compare
    from pld.compare.peers import pld_method
    from pld.compare.report import render_markdown

    settings = JOB_FLAGS.read(args, CompareSettings(data_dir=args.data_dir))
    pld = pld_method(FLAGS.read(args, COMPARE_PLD))  # the pld row with the --pld-* settings
    out = args.out or os.path.join("comparisons", f"{settings.task}-{settings.student.split('/')[-1].replace(':', '-')}")
    started = time.perf_counter()
    report = compare(settings, out, compare_roles(args),
                     methods=[pld if name.lower() == "pld" else name for name in settings.methods])
    print(render_markdown(report))
    unfinished = [r.method for r in report.methods if r.status != "ok"]
    print(f"results: {out}/results.md, {out}/results.json, plots and one artifact per method in {out}/")
    print(f"{len(report.methods) - len(unfinished)} of {len(report.methods)} methods finished"
          + (f"; not finished: {', '.join(unfinished)}" if unfinished else "")
          + (f"; reused from {out}: {', '.join(report.reused)}" if report.reused else "")
          + f" (wall time {time.perf_counter() - started:.0f} s)")
    if args.student.startswith("local/") or args.teacher.startswith("local/"):
        print(NOTE)
