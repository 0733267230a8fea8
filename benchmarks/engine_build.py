"""Speed of the portable llama.cpp build (GGML_NATIVE=OFF) against a -march=native build of the
same llama-cpp-python version, on one machine where both run.

Each build is imported in its own child process (``PYTHONPATH`` puts a build's site folder first);
the children alternate, round after round, so load drift on a shared machine hits both alike.
A round loads the student (Gemma 3 270M), evaluates a ~500-token prompt from scratch (prompt
tokens/s, the cost of label scoring) and greedily generates 64 tokens (generation tokens/s).

Make the native build beside the installed portable one, then run:

    pip wheel --no-deps --no-cache-dir llama-cpp-python==0.3.36 -w /tmp/native-wheel   # default flags: native
    pip install --no-deps --target /tmp/native-site /tmp/native-wheel/llama_cpp_python-*.whl
    python benchmarks/engine_build.py --build native=/tmp/native-site --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from _common import save_result

CHILD = r"""
import json, sys, time
import llama_cpp
from pld.backends.local.models import resolve_model_path
path, _ = resolve_model_path("gemma3-270m")
llama = llama_cpp.Llama(model_path=str(path), n_ctx=2048, n_threads=int(sys.argv[1]), logits_all=False, verbose=False)
words = ("The committee reviewed every clause of the agreement before the parties signed it, and each member "
         "wrote a short note on what the clause required of the receiving party. ")
prompt = llama.tokenize((words * 20).encode(), add_bos=True)[:500]
llama.reset()
started = time.perf_counter(); llama.eval(prompt); prompt_s = time.perf_counter() - started
llama.reset()
started = time.perf_counter()
out = llama.create_completion(llama.detokenize(prompt[1:200]).decode(errors="ignore"), max_tokens=64,
                              temperature=0.0, stop=[])
gen_s = time.perf_counter() - started
generated = out["usage"]["completion_tokens"]
info = llama_cpp.llama_print_system_info().decode(errors="replace")
print(json.dumps({"prompt_tok_s": len(prompt) / prompt_s, "gen_tok_s": generated / gen_s,
                  "generated": generated, "text": out["choices"][0]["text"], "system_info": info}))
"""


def run_child(site: str | None, threads: int) -> dict:
    env = dict(os.environ)
    if site:
        env["PYTHONPATH"] = site + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, "-c", CHILD, str(threads)], capture_output=True, text=True, env=env,
                          timeout=600)
    if done.returncode != 0:
        return {"error": f"exit {done.returncode}: {(done.stderr.strip().splitlines() or [''])[-1]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", action="append", default=[], metavar="NAME=SITE_DIR",
                        help="another build to compare with the installed one (a --target install folder)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    builds: dict[str, str | None] = {"portable (installed)": None}
    builds.update(dict(item.split("=", 1) for item in args.build))
    runs: dict[str, list[dict]] = {name: [] for name in builds}
    for round_index in range(args.rounds):
        order = list(builds) if round_index % 2 == 0 else list(reversed(builds))
        for name in order:
            runs[name].append(run_child(builds[name], args.threads))
    summary: dict = {"rounds": args.rounds, "threads": args.threads, "builds": {}}
    for name, results in runs.items():
        good = [r for r in results if "error" not in r]
        if not good:
            summary["builds"][name] = {"error": results[0]["error"]}
            print(f"{name:22s} FAILED: {results[0]['error']}")
            continue
        row = {key: statistics.median(r[key] for r in good) for key in ("prompt_tok_s", "gen_tok_s")}
        row["runs"] = len(good)
        row["system_info"] = good[0]["system_info"]
        row["text"] = good[0]["text"]
        summary["builds"][name] = row
        print(f"{name:22s} prompt {row['prompt_tok_s']:7.1f} tok/s   generation {row['gen_tok_s']:6.1f} tok/s   "
              f"({row['runs']} rounds, median)")
    base = summary["builds"]["portable (installed)"]
    for name, row in summary["builds"].items():
        if name == "portable (installed)" or "error" in row or "error" in base:
            continue
        summary[f"portable_over_{name}"] = {key: base[key] / row[key] for key in ("prompt_tok_s", "gen_tok_s")}
        same = base["text"] == row["text"]
        print(f"portable / {name}: prompt {base['prompt_tok_s'] / row['prompt_tok_s']:.2f}x, generation "
              f"{base['gen_tok_s'] / row['gen_tok_s']:.2f}x speed; same 64 generated tokens: {same}")
    save_result("engine_build", summary)


if __name__ == "__main__":
    main()
