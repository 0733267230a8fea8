"""``pld predict``: classify a JSONL file with a compiled artifact, JSONL out."""

from __future__ import annotations

import argparse
import sys


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("predict", help="classify a JSONL file with an artifact (JSONL out)")
    parser.add_argument("artifact")
    parser.add_argument("--input", required=True, help="JSONL, one object with the task's input fields per line")
    parser.add_argument("--output", help="JSONL to write (default: standard output)")
    parser.add_argument("--student", default=None, help="bind another student model spec")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from pld.artifact import load
    from pld.batch import predict_rows, read_inputs, write_jsonl

    program = load(args.artifact, student_lm=args.student)
    manifest = program.pld_manifest
    input_fields = list(program.predictors()[0].signature.input_fields)
    rows = read_inputs(args.input, input_fields)
    records = predict_rows(program, rows, input_fields, manifest.label_field, manifest.checksum[:12])
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            count = write_jsonl(records, handle)
        print(f"wrote {count} predictions to {args.output}", file=sys.stderr)
    else:
        write_jsonl(records, sys.stdout)
