"""Generation threads of the embedded engine: llama-cpp-python's default (half the logical CPUs)
against ``physical_cores()`` (what PLD passes), on the default model (Qwen2.5-Coder-1.5B).

Prompt evaluation (label scoring) uses llama.cpp's batch threads, which neither setting changes;
generation (a teacher's rationale) and single-token steps use the generation threads. Both models
are loaded once and measured in alternating rounds, so load drift hits both alike.
Run: python benchmarks/threads.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time

from _common import save_result

from pld.backends.local.cpus import physical_cores
from pld.backends.local.models import resolve_model_path

WORDS = ("The committee reviewed every clause of the agreement before the parties signed it, and each member "
         "wrote a short note on what the clause required of the receiving party. ")


def measure(llama) -> dict[str, float]:
    prompt = llama.tokenize((WORDS * 10).encode(), add_bos=True)[:200]
    llama.reset()
    started = time.perf_counter()
    llama.eval(prompt)
    prompt_s = time.perf_counter() - started
    started = time.perf_counter()
    generated = 0
    for _ in llama.generate(prompt, temp=0.0):  # the prompt is cached: only its last token runs again
        generated += 1
        if generated == 48:
            break
    gen_s = time.perf_counter() - started
    return {"prompt_tok_s": len(prompt) / prompt_s, "gen_tok_s": generated / gen_s}


def main() -> None:
    from llama_cpp import Llama

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    path, _ = resolve_model_path("qwen2.5-1.5b")
    settings = {"library default": max(multiprocessing.cpu_count() // 2, 1), "physical_cores()": physical_cores()}
    models = {name: Llama(model_path=str(path), n_ctx=1024, n_threads=threads, logits_all=False, verbose=False)
              for name, threads in settings.items()}
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, llama in models.items():
            rounds[name].append(measure(llama))
    rows = {}
    for name, results in rounds.items():
        rows[name] = {"threads": settings[name],
                      "prompt_tok_s": round(statistics.median(r["prompt_tok_s"] for r in results), 1),
                      "gen_tok_s": round(statistics.median(r["gen_tok_s"] for r in results), 2)}
        print(f"{name:18s} threads={settings[name]}  prompt {rows[name]['prompt_tok_s']} tok/s  "
              f"generation {rows[name]['gen_tok_s']} tok/s", flush=True)
    base, ours = rows["library default"], rows["physical_cores()"]
    ratio = {"prompt": round(ours["prompt_tok_s"] / base["prompt_tok_s"], 2),
             "generation": round(ours["gen_tok_s"] / base["gen_tok_s"], 2)}
    print(f"physical_cores() / library default: prompt {ratio['prompt']}x, generation {ratio['generation']}x")
    save_result("threads", {"model": "qwen2.5-1.5b", "rounds": args.rounds, "logical_cpus": multiprocessing.cpu_count(),
                            "rows": rows, "ratio": ratio})


if __name__ == "__main__":
    main()
