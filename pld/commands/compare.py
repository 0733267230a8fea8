"""``pld compare``: PLD and DSPy's other optimizers on the same data, student, teacher and budget."""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

from pld.backends.registry import spec_help
from pld.commands.common import NOTE, TASK_NAMES, add_model_args, role_options
from pld.commands.flags import ConfigFlags
from pld.commands.types import non_negative_int, positive_int
from pld.compare.settings import COMPARE_PLD, DEFAULT_METHODS, CompareSettings
from pld.backends.options import DEFAULT_STUDENT, DEFAULT_TEACHER, RoleOptions

# The pld row's settings as --pld-* flags: the prefix says they change one row, not every method.
# --seed and --budget are the comparison's own, the same for every method; progress bars stay off.
FLAGS = ConfigFlags(prefix="pld-", exclude=("seed", "max_student_calls", "num_threads", "progress"))


def register(commands: argparse._SubParsersAction) -> None:
    defaults = CompareSettings()
    parser = commands.add_parser(
        "compare", help="compare PLD with DSPy optimizers (quality, compile cost, run-time cost)",
        description="Run each method on identical splits with the same student and teacher; write results.json, "
                    "results.md, two PNG plots and one artifact per method to --out. Re-running with the same "
                    "arguments reuses finished methods (resume).")
    parser.add_argument("--task", default=defaults.task, help=f"one of: {', '.join(TASK_NAMES)}")
    parser.add_argument("--student", default=DEFAULT_STUDENT, help=f"student model spec: {spec_help()}")
    parser.add_argument("--teacher", default=DEFAULT_TEACHER, help=f"teacher model spec: {spec_help()}")
    parser.add_argument("--optimizers", default=",".join(DEFAULT_METHODS),
                        help=f"comma-separated methods, in row order (default: {','.join(DEFAULT_METHODS)})")
    parser.add_argument("--budget", type=positive_int, default=defaults.budget,
                        help="student calls each method's compile may spend, where the optimizer can be capped or sized")
    parser.add_argument("--train", type=positive_int, default=defaults.n_train, help="training examples")
    parser.add_argument("--val", type=positive_int, default=defaults.n_val, help="validation examples")
    parser.add_argument("--test", type=positive_int, default=defaults.n_test, help="test examples")
    parser.add_argument("--student-max-tokens", type=non_negative_int, default=defaults.student_max_tokens,
                        help="the student's token cap (its per-role --max-tokens), kept short since it caps "
                             f"chain-of-thought reasoning (default {defaults.student_max_tokens}; "
                             "0: --max-tokens, or the backend's default)")
    parser.add_argument("--out", default=None, help="output folder (default: comparisons/<task>-<student>)")
    parser.add_argument("--fail-method", action="append", default=[], metavar="NAME",
                        help="fault injection: NAME (one of --optimizers) raises instead of compiling, to check that "
                             "a failing method is reported in its row and the others complete; repeatable")
    parser.add_argument("--retry-failed", action="store_true", help="run failed methods again instead of reusing them")
    add_model_args(parser, own=("student-max-tokens",))  # compare's own, with its default above
    FLAGS.add(parser.add_argument_group("PLD settings of the pld row (pld.PLDConfig)"), COMPARE_PLD)
    parser.set_defaults(func=run)


def compare_roles(args: argparse.Namespace) -> RoleOptions:
    """Each role's options from its flags; the student's token cap is ``--student-max-tokens``, which
    ``CompareSettings`` carries, falling back to the shared ``--max-tokens`` when it is 0."""
    roles = role_options(args)
    return dataclasses.replace(roles, student=dataclasses.replace(roles.student, max_tokens=args.max_tokens))


def run(args: argparse.Namespace) -> None:
    from pld.compare import compare
    from pld.compare.peers import pld_method
    from pld.compare.report import render_markdown

    methods = tuple(name.strip() for name in args.optimizers.split(",") if name.strip())
    settings = CompareSettings(
        task=args.task, student=args.student, teacher=args.teacher, methods=methods, n_train=args.train,
        n_val=args.val, n_test=args.test, budget=args.budget, seed=args.seed,
        student_max_tokens=args.student_max_tokens or None, fail_methods=tuple(args.fail_method),
        retry_failed=args.retry_failed, data_dir=args.data_dir,
    )
    pld = pld_method(FLAGS.read(args, COMPARE_PLD))  # the pld row with the --pld-* settings
    out = args.out or os.path.join("comparisons", f"{args.task}-{args.student.split('/')[-1].replace(':', '-')}")
    started = time.perf_counter()
    report = compare(settings, out, compare_roles(args), methods=[pld if name.lower() == "pld" else name for name in methods])
    print(render_markdown(report))
    unfinished = [r.method for r in report.methods if r.status != "ok"]
    print(f"results: {out}/results.md, {out}/results.json, plots and one artifact per method in {out}/")
    print(f"{len(report.methods) - len(unfinished)} of {len(report.methods)} methods finished"
          + (f"; not finished: {', '.join(unfinished)}" if unfinished else "")
          + (f"; reused from {out}: {', '.join(report.reused)}" if report.reused else "")
          + f" (wall time {time.perf_counter() - started:.0f} s)")
    if args.student.startswith("local/") or args.teacher.startswith("local/"):
        print(NOTE)
