"""``pld predict``: classify a JSONL file with a compiled artifact, JSONL out."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from pld.commands.common import add_model_args, decoding_overrides, lm_options
from pld.errors import DataError

EXIT_STATUS = """exit status:
  0  every line was answered
  1  some lines failed (each is reported on stderr and in the errors file); the others were answered
  2  nothing was predicted: unreadable input, a bad artifact, or a backend fault (which stops the run)"""


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "predict", help="classify a JSONL file with an artifact (JSONL out)",
        description="Answer every valid line of a JSONL file. Bad lines are skipped and reported with their "
                    "line number. The student decodes labels as the artifact records (--label-mode, --calibrate "
                    "override that).",
        epilog=EXIT_STATUS, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("artifact")
    parser.add_argument("--input", required=True, help="JSONL, one object with the task's input fields per line")
    parser.add_argument("--output", help="JSONL to write; missing folders are created (default: standard output)")
    parser.add_argument("--errors", help="JSONL of the lines that failed, with line number and reason "
                                         "(default: OUTPUT.errors.jsonl with --output; none without)")
    parser.add_argument("--student", default=None, help="bind another student model spec")
    add_model_args(parser, roles=("student",))
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pld.artifacts.artifact import load
    from pld.batch import BadLine, input_fields, parse_inputs, predict_file, read_input_file

    data = read_input_file(args.input)  # before the model loads: a wrong path fails at once
    program = load(args.artifact, student_lm=args.student, options=lm_options(args, "student"),
                   **decoding_overrides(args))
    lines, bad = parse_inputs(data, input_fields(program))
    errors_path = args.errors or (f"{args.output}.errors.jsonl" if args.output else None)
    with ExitStack() as stack:
        out = _open(args.output, stack) if args.output else sys.stdout
        if errors_path:
            _remove_stale(Path(errors_path))
        errors: list[IO[str]] = []

        def report(line: BadLine) -> None:
            print(f"{args.input}:{line.number}: {line.reason}", file=sys.stderr)
            if errors_path:
                if not errors:
                    errors.append(_open(errors_path, stack))
                errors[0].write(json.dumps(line.record(), ensure_ascii=False) + "\n")
                errors[0].flush()

        summary = predict_file(program, lines, bad, out, report)
    failed = len(summary.failed)
    print(f"answered {summary.answered} line(s)" + (f", written to {args.output}" if args.output else "")
          + (f"; {failed} line(s) failed" + (f", listed in {errors_path}" if errors_path else "") if failed else ""),
          file=sys.stderr)
    return 1 if failed else 0


def _remove_stale(path: Path) -> None:
    """An errors file left by an earlier run would blame lines that are fine now."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise DataError(f"cannot replace the errors file {path} ({exc.strerror}).") from exc


def _open(path: str, stack: ExitStack) -> IO[str]:
    """Open ``path`` for writing, creating missing folders; any failure is one line."""
    file = Path(path)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        return stack.enter_context(file.open("w", encoding="utf-8"))
    except IsADirectoryError:
        raise DataError(f"{file} is a folder; name a file to write.") from None
    except OSError as exc:
        raise DataError(f"cannot write {file} ({exc.strerror}).") from exc
