"""Options shared by the commands that run a model."""

from __future__ import annotations

import argparse

from pld.lm import LMOptions

NOTE = ("Note: tiny local models show how PLD works, not the quality the paper reports "
        "(a frontier teacher and Gemma-3 4B served by Ollama).")


def add_model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api-base", help="server address for ollama/ or OpenAI-compatible openai/ specs")
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-cache", action="store_true", help="bypass DSPy's response cache")
    parser.add_argument("--label-mode", choices=["score", "grammar"], default="score",
                        help="embedded models: score the labels in one pass, or generate under a grammar")
    parser.add_argument("--calibrate", action="store_true",
                        help="embedded models: contextual calibration of label scores (content-free input)")
    parser.add_argument("--chat-format", choices=["gemma", "chatml"], default=None,
                        help="openai/ specs with --api-base: score labels from log-probabilities via /v1/completions, "
                             "rendering prompts in this turn format")
    parser.add_argument("--data-dir", help="folder with the official data files (default: $PLD_DATA_DIR or ../shared/data)")


def lm_options(args: argparse.Namespace) -> LMOptions:
    return LMOptions(temperature=args.temperature, max_tokens=args.max_tokens, seed=args.seed,
                     api_base=args.api_base, cache=not args.no_cache, label_mode=args.label_mode,
                     calibrate=args.calibrate, chat_format=args.chat_format)
