"""Per-call latency of label decoding: a llama.cpp server on loopback vs the embedded engine, same
Gemma 3 270M weights, same StereoSet prompts. The server runs as started by default and with
``--logits_all False`` (no log-probabilities, no logits kept per prompt position); the client
decodes labels with the default rule (one ``logit_bias`` request per label), calibrated, and with
``--label-mode grammar`` (one constrained generation). Prints seconds per call, the ratio to the
embedded engine, and how many labels equal the embedded ones (calibrated vs calibrated).

    python benchmarks/served_latency.py [N]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import dspy

from _common import DATA_DIR, ROOT

from tests.servers import start_llama_server  # noqa: E402 - the suite's server helper

from pld.backends.lm import make_lm
from pld.backends.options import LMOptions

DEFAULT_STUDENT = "local/gemma3-270m"  # the model these recorded numbers were measured on
from pld.evaluate import student_adapter
from pld.tasks import get_task


def start_server(*flags: str) -> tuple[subprocess.Popen, str]:
    server = start_llama_server("gemma3-270m", *flags, seconds=120)
    return server.process, server.base


def timed(lm: dspy.BaseLM, program: dspy.Module, examples: list) -> list[float]:
    seconds = []
    with dspy.context(lm=lm, adapter=student_adapter()):
        program(**examples[0].inputs())  # warm-up: loads weights, fills the prompt cache
        for example in examples:
            start = time.perf_counter()
            program(**example.inputs())
            seconds.append(time.perf_counter() - start)
    return seconds


def labels(lm: dspy.BaseLM, program: dspy.Module, examples: list) -> list[str]:
    with dspy.context(lm=lm, adapter=student_adapter()):
        return [program(**example.inputs()).label for example in examples]


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def measure(base: str, options: LMOptions, program: dspy.Module, examples: list) -> tuple[list[float], list[str], dict]:
    lm = make_lm("openai/gemma3-270m", options.replace(api_base=base, chat_format="gemma", cache=False))
    seconds = timed(lm, program, examples)
    answers = labels(lm, program, examples)
    return seconds, answers, {"paths": dict(lm.engine.label_paths), "fallbacks": dict(lm.engine.fallback_reasons)}


NO_LOGITS = ("--logits_all", "False")
# (name, server flags, label decoding): the server as started by default, and without log-probabilities
CONFIGURATIONS = (
    ("score, default server", (), LMOptions()),
    ("grammar, default server", (), LMOptions(label_mode="grammar")),
    ("score, --logits_all False", NO_LOGITS, LMOptions()),
    ("calibrated, --logits_all False", NO_LOGITS, LMOptions(calibrate=True)),
    ("grammar, --logits_all False", NO_LOGITS, LMOptions(label_mode="grammar")),
)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    task = get_task("stereoset")
    examples = task.load_splits(DATA_DIR).val[:count]
    program = task.make_program()
    embedded = timed(make_lm(DEFAULT_STUDENT, LMOptions(cache=False)), program, examples)
    embedded_labels = {calibrate: labels(make_lm(DEFAULT_STUDENT, LMOptions(cache=False, calibrate=calibrate)), program,
                                         examples) for calibrate in (False, True)}
    print(f"{count} StereoSet validation prompts, Gemma 3 270M; embedded engine {sum(embedded) / count:.3f} s per call")
    results = {"examples": count, "embedded_s": sum(embedded) / count, "served": {}}
    servers: dict[tuple[str, ...], tuple[subprocess.Popen, str]] = {}
    try:
        for name, flags, options in CONFIGURATIONS:
            if flags not in servers:
                for process, _ in servers.values():
                    stop(process)  # one server at a time: they share the CPU with the client
                servers = {flags: start_server(*flags)}
            seconds, answers, paths = measure(servers[flags][1], options, program, examples)
            same = sum(a == b for a, b in zip(embedded_labels[bool(options.calibrate)], answers))
            ratio = sum(seconds) / sum(embedded)
            print(f"{name:30s} {sum(seconds) / count:6.3f} s per call  {ratio:5.2f}x embedded  "
                  f"labels equal to embedded {same}/{count}  {paths}")
            results["served"][name] = {"s": sum(seconds) / count, "ratio": ratio, "same_labels": same, **paths}
    finally:
        for process, _ in servers.values():
            stop(process)
    out = Path(__file__).parent / "results" / "served_latency.json"
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
