"""``pld``: evaluate a student, compile with PLD. Errors print one line with the fix, no traceback."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from pld.errors import PLDError

NOTE = ("Note: tiny local models show how PLD works, not the quality the paper reports "
        "(a frontier teacher and Gemma-3 4B served by Ollama).")


def _model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api-base", help="server address for ollama/ or OpenAI-compatible openai/ specs")
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-cache", action="store_true", help="bypass DSPy's response cache")
    parser.add_argument("--data-dir", help="folder with the official data files (default: $PLD_DATA_DIR or ../shared/data)")
    parser.add_argument("-v", "--verbose", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    from pld.jobs import CompileSettings
    from pld.lm import DEFAULT_STUDENT, DEFAULT_TEACHER
    from pld.tasks import TASKS

    parser = argparse.ArgumentParser(prog="pld", description="Prompt-Level Distillation for DSPy programs.")
    commands = parser.add_subparsers(dest="command", required=True)

    evaluate = commands.add_parser("evaluate", help="score a student on a task (Macro F1, costs, latency)")
    evaluate.add_argument("--task", required=True, help=f"one of: {', '.join(TASKS)}")
    evaluate.add_argument("--student", default=DEFAULT_STUDENT)
    evaluate.add_argument("--limit", type=int, default=None, help="score a label-balanced sample of N examples")
    evaluate.add_argument("--split", choices=["train", "val", "test"], default="test")
    evaluate.add_argument("--strategy", choices=["zero-shot", "cot"], default="zero-shot")
    evaluate.add_argument("--threads", type=int, default=1, help="concurrent requests (server backends only)")
    _model_args(evaluate)

    defaults = CompileSettings()
    compile_ = commands.add_parser("compile", help="compile a task's program with PLD and write an artifact")
    compile_.add_argument("--task", default="stereoset", help=f"one of: {', '.join(TASKS)}")
    compile_.add_argument("--teacher", default=DEFAULT_TEACHER)
    compile_.add_argument("--student", default=DEFAULT_STUDENT)
    compile_.add_argument("--out", default=None, help="artifact directory (default: artifacts/<task>-<student>)")
    compile_.add_argument("--strategy", choices=["zero-shot", "cot"], default=defaults.strategy)
    compile_.add_argument("--train", type=int, default=defaults.n_train, help="training examples (teacher traces)")
    compile_.add_argument("--val", type=int, default=defaults.n_val, help="validation examples (rule selection)")
    compile_.add_argument("--trace-mode", choices=["label-conditioned", "label-free"], default=defaults.trace_mode)
    compile_.add_argument("--max-candidates", type=int, default=defaults.max_candidates)
    compile_.add_argument("--max-rules", type=int, default=defaults.max_rules)
    compile_.add_argument("--min-gain", type=float, default=defaults.min_gain)
    compile_.add_argument("--max-repair-rounds", type=int, default=defaults.max_repair_rounds)
    compile_.add_argument("--max-teacher-calls", type=int, default=defaults.max_teacher_calls)
    compile_.add_argument("--max-student-calls", type=int, default=defaults.max_student_calls)
    _model_args(compile_)
    return parser


def _options(args: argparse.Namespace):
    from pld.lm import LMOptions

    return LMOptions(temperature=args.temperature, max_tokens=args.max_tokens, seed=args.seed,
                     api_base=args.api_base, cache=not args.no_cache)


def _run_evaluate(args: argparse.Namespace) -> None:
    from pld.jobs import evaluate_task
    from pld.tables import eval_table

    started = time.perf_counter()
    report = evaluate_task(args.task, args.student, split=args.split, limit=args.limit, strategy=args.strategy,
                           data_dir=args.data_dir, seed=args.seed, options=_options(args), num_threads=args.threads)
    print(eval_table(args.task, args.student, args.strategy, report))
    print(f"wall time: {time.perf_counter() - started:.1f} s")
    if args.student.startswith("local/"):
        print(NOTE)


def _run_compile(args: argparse.Namespace) -> None:
    from pld.jobs import CompileSettings, compile_task

    settings = CompileSettings(
        teacher=args.teacher, student=args.student, strategy=args.strategy, n_train=args.train, n_val=args.val,
        max_candidates=args.max_candidates, max_rules=args.max_rules, min_gain=args.min_gain,
        max_repair_rounds=args.max_repair_rounds, max_teacher_calls=args.max_teacher_calls,
        max_student_calls=args.max_student_calls, trace_mode=args.trace_mode, seed=args.seed, data_dir=args.data_dir,
    )
    out = args.out or os.path.join("artifacts", f"{args.task}-{args.student.split('/')[-1].replace(':', '-')}")
    started = time.perf_counter()
    path = compile_task(args.task, out, settings, _options(args))
    print((path / "report.md").read_text(encoding="utf-8"))
    print(f"artifact: {path}  (wall time {time.perf_counter() - started:.0f} s)")
    if args.student.startswith("local/") or args.teacher.startswith("local/"):
        print(NOTE)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # offline: no price-list fetch
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "LiteLLM", "litellm", "dspy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        {"evaluate": _run_evaluate, "compile": _run_compile}[args.command](args)
    except PLDError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
