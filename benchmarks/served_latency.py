"""Per-call latency of label decoding: a llama.cpp server on loopback vs the embedded engine, same
Gemma 3 270M weights, same StereoSet prompts. The server decodes labels two ways: exact scoring from
streamed log-probabilities (the default) and ``--label-mode grammar`` (one constrained generation).
Prints the served/embedded ratio per call and overall, and how many labels equal the embedded ones.

    python benchmarks/served_latency.py [N]
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import dspy
import httpx

from _common import DATA_DIR

from pld.backends.lm import make_lm
from pld.backends.local.models import resolve_model_path
from pld.backends.options import DEFAULT_STUDENT, LMOptions
from pld.evaluate import student_adapter
from pld.tasks import get_task


def start_server() -> tuple[subprocess.Popen, str]:
    path, _ = resolve_model_path("gemma3-270m")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--host", "127.0.0.1",
                                "--port", str(port), "--n_ctx", "4096", "--model_alias", "gemma3-270m"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    for _ in range(240):
        try:
            if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("the llama.cpp server did not start")


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


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    task = get_task("stereoset")
    examples = task.load_splits(DATA_DIR).val[:count]
    program = task.make_program()
    embedded = timed(make_lm(DEFAULT_STUDENT, LMOptions(cache=False)), program, examples)
    embedded_labels = labels(make_lm(DEFAULT_STUDENT, LMOptions(cache=False)), program, examples)
    process, base = start_server()
    try:
        served_lm = make_lm("openai/gemma3-270m", LMOptions(api_base=base, chat_format="gemma", cache=False))
        served = timed(served_lm, program, examples)
        served_labels = labels(served_lm, program, examples)
        grammar_lm = make_lm("openai/gemma3-270m", LMOptions(api_base=base, chat_format="gemma", cache=False,
                                                             label_mode="grammar"))
        grammar = timed(grammar_lm, program, examples)
        grammar_labels = labels(grammar_lm, program, examples)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    for index, (e, s, g) in enumerate(zip(embedded, served, grammar)):
        print(f"call {index:2d}: embedded {e:6.3f} s  served scoring {s:6.3f} s ({s / e:5.2f}x)  "
              f"served grammar {g:6.3f} s ({g / e:5.2f}x)")
    print(f"mean: embedded {sum(embedded) / count:.3f} s  served scoring {sum(served) / count:.3f} s  "
          f"ratio {sum(served) / sum(embedded):.2f}  paths {dict(served_lm.engine.label_paths)}  "
          f"fallbacks {dict(served_lm.engine.fallback_reasons)}  streamed probes {served_lm.engine.stream_probes}")
    print(f"mean: served grammar {sum(grammar) / count:.3f} s  ratio {sum(grammar) / sum(embedded):.2f}  "
          f"paths {dict(grammar_lm.engine.label_paths)}")
    same = lambda other: sum(a == b for a, b in zip(embedded_labels, other))  # noqa: E731
    print(f"labels equal to the embedded engine's: served scoring {same(served_labels)}/{count}, "
          f"served grammar {same(grammar_labels)}/{count}")


if __name__ == "__main__":
    main()
