"""``pld show``, ``pld diff``, ``pld edit``: read and change an artifact's rules."""

from __future__ import annotations

import argparse

from pld.commands.common import add_model_args, decoding_overrides, lm_options
from pld.commands.types import positive_int
from pld.errors import ConfigError


def register(commands: argparse._SubParsersAction) -> None:
    show = commands.add_parser("show", help="print an artifact's rules, gains, provenance and scores")
    show.add_argument("artifact")
    show.add_argument("--format", choices=["text", "markdown", "html"], default="text",
                      help="html: one self-contained page (no server, no network) to attach to a pull request")
    show.add_argument("--out", help="write to this file instead of the terminal")
    show.add_argument("--all", action="store_true",
                      help="also list every candidate rule with the training examples (ids, excerpts) and micro-rules "
                           "it came from, every traced example, and every rejected rule text with the reason")
    show.set_defaults(func=run_show)

    diff = commands.add_parser("diff", help="rules added, removed, reordered or reworded between two artifacts")
    diff.add_argument("before")
    diff.add_argument("after")
    diff.set_defaults(func=run_diff)

    review = commands.add_parser(
        "review", help="review an artifact's rules in the browser: evidence, edits, re-scoring, saving",
        description="Starts a local web app (127.0.0.1, a free port, a per-run token in the printed address) over the "
                    "artifact and its task data: each rule's gain, provenance and leave-one-out contribution, edits "
                    "(drop, reword, reorder, add), re-scoring with the paired gain test, and saving as the next "
                    "version. Ctrl-C stops it.")
    review.add_argument("artifact")
    review.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    review.add_argument("--no-browser", action="store_true", help="print the address only")
    review.add_argument("--student", default=None, help="re-score with another student spec (default: the artifact's)")
    add_model_args(review, roles=("student",))
    review.set_defaults(func=run_review)

    edit = commands.add_parser(
        "edit", help="change an artifact's rules by hand (recorded in its manifest)",
        description="Replace or drop an artifact's rules. The version replaced is kept as ARTIFACT.previous; "
                    "a malformed rules file is refused and nothing is written.")
    edit.add_argument("artifact")
    edit.add_argument("--drop", type=positive_int, action="append", default=[], metavar="N", help="remove rule number N")
    edit.add_argument("--rules-file", help="replace the rules with this file: one rule per line, or a JSON list of "
                                           "strings (a .json file, or content starting with '[')")
    edit.set_defaults(func=run_edit)


def run_show(args: argparse.Namespace) -> None:
    from pld.artifacts.artifact import read_manifest
    from pld.errors import ArtifactError
    from pld.artifacts.provenance import read_report
    from pld.artifacts.review import show_markdown, show_text

    manifest = read_manifest(args.artifact)
    try:
        report = read_report(args.artifact, manifest)
    except ArtifactError:
        if args.all:
            raise
        report = None  # the short listing needs only the manifest
    if args.all and report is None:
        raise ArtifactError(f"{args.artifact} holds no run report (report.json) to list: use `pld show` without --all.")
    if args.format == "html":
        from pld.artifacts.review_html import review_page

        text = review_page(manifest, report)
    else:
        show = show_markdown if args.format == "markdown" else show_text
        text = show(manifest, report, full=args.all)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        print(f"wrote {args.out}")
    else:
        print(text)


def run_review(args: argparse.Namespace) -> None:
    from importlib.util import find_spec

    if find_spec("fastapi") is None or find_spec("uvicorn") is None:
        raise ConfigError('pld review needs the review app\'s web server: pip install -e ".[review]" '
                          "(FastAPI and uvicorn)")
    from pld.review.app import serve

    try:
        serve(args.artifact, port=args.port, data_dir=args.data_dir, open_browser=not args.no_browser,
              student=args.student, options=lm_options(args, "student"), decoding=decoding_overrides(args))
    except KeyboardInterrupt:
        print("stopped")


def run_diff(args: argparse.Namespace) -> None:
    from pld.artifacts.review import diff_rules, rules_of

    print("\n".join(diff_rules(rules_of(args.before), rules_of(args.after))))


def run_edit(args: argparse.Namespace) -> None:
    from pld.artifacts.atomic import previous_path
    from pld.artifacts.edit import edit_rules, read_rules_file
    from pld.artifacts.review import rules_of, show_text

    if not args.drop and not args.rules_file:
        raise ConfigError("Nothing to edit: pass --drop N or --rules-file FILE.")
    rules = read_rules_file(args.rules_file) if args.rules_file else rules_of(args.artifact)
    for number in sorted(set(args.drop), reverse=True):
        if not 1 <= number <= len(rules):
            raise ConfigError(f"--drop {number}: the artifact has rules 1..{len(rules)}.")
        del rules[number - 1]
    print(show_text(edit_rules(args.artifact, rules)))
    print(f"\nthe version before this edit is kept in {previous_path(args.artifact)} "
          "(replaced by the next edit or compile)")
