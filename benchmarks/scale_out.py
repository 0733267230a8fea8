"""Scale-out of student scoring over several llama.cpp servers through PLD's pool (a litellm.Router).

1. Throughput: StereoSet validation examples scored (label scoring, ``--chat-format gemma``) by 1 and
   by 2 real servers on loopback, each pinned to one core with one thread; efficiency T(2)/(2·T(1)).
2. Prompt-cache reuse per endpoint: ContractNLI hypotheses grouped by document, 2 servers with prefix
   affinity on and off, read from each server's own log (tokens it evaluated vs found in its cache).
3. The Router's own cost per call, against endpoints that answer at once (tests/fault_server.py):
   sequential latency over the same server reached directly, and the most calls per second the
   pool can route; with the measured per-call service time, a queueing estimate for 8 and 64 servers.
This machine has 2 cores: two servers are all it can host, and the client competes with them.
Run: python benchmarks/scale_out.py [--examples 16] [--docs 2] [--hypotheses 4]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import DATA_DIR, ROOT, artifact_rules, save_result

from tests.servers import start_fault_server, start_llama_server  # noqa: E402 - the suite's server helper

from pld.backends.lm import make_lm
from pld.backends.options import LMOptions
from pld.backends.endpoint_stats import endpoint_stats
from pld.evaluate import run_program
from pld.pipeline.render import base_instructions, with_rules
from pld.tasks import get_task

_HIT = re.compile(r"Llama\.generate: (\d+) prefix-match hit, remaining (\d+) prompt tokens")
_EVAL = re.compile(r"prompt eval time =\s*[\d.]+ ms /\s*(\d+) tokens")


def start_llama(core: int, log: Path) -> tuple[subprocess.Popen, str]:
    """A llama.cpp server on one core with one thread; its log says what each request evaluated."""
    server = start_llama_server("gemma3-270m", "--verbose", "True", core=core, threads=1, log=log.open("w"))
    return server.process, server.base


def start_instant() -> tuple[subprocess.Popen, str]:
    """An OpenAI-compatible server that answers at once (the tests' fault server in its ``ok`` mode)."""
    server = start_fault_server("ok")
    return server.process, server.base


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.kill()
        process.wait(timeout=10)


def cache_use(log: Path) -> dict:
    """Prompt tokens a server evaluated and found in its cache, from its own log."""
    evaluated = cached = requests = 0
    hit = 0
    for line in log.read_text(errors="replace").splitlines():
        if (match := _HIT.search(line)) is not None:
            hit = int(match.group(1))
        elif (match := _EVAL.search(line)) is not None:
            requests += 1
            evaluated += int(match.group(1))
            cached += hit
            hit = 0
    total = evaluated + cached
    return {"requests": requests, "prompt_tokens": total, "evaluated": evaluated,
            "reuse": round(cached / total, 3) if total else None}


def throughput(bases: list[str], program, examples) -> dict:
    lm = make_lm("openai/gemma3-270m", LMOptions(api_base=",".join(bases), chat_format="gemma", cache=False))
    run_program(program, examples[:1], lm)  # warm-up: tokenizer endpoints, loaded weights, a first prompt
    started = time.perf_counter()
    predictions, latencies = run_program(program, examples, lm, num_threads=4 * len(bases))
    seconds = time.perf_counter() - started
    return {"servers": len(bases), "examples": len(examples), "seconds": round(seconds, 2),
            "examples_per_s": round(len(examples) / seconds, 3), "labels": [p.label if p else None for p in predictions],
            "mean_call_s": round(sum(latencies) / len(latencies), 2),
            "calls_per_endpoint": [s.calls for s in endpoint_stats(lm) or []] if len(bases) > 1 else [len(examples)],
            "label_paths": dict(lm.engine.label_paths), "fallbacks": dict(lm.engine.fallback_reasons)}


def without_router(bases: list[str], program, examples) -> dict:
    """The control: each server scored by its own plain LM on its half of the examples, both at once.
    What two servers give on this machine with no Router in between."""
    lms = [make_lm("openai/gemma3-270m", LMOptions(api_base=base, chat_format="gemma", cache=False)) for base in bases]
    for lm in lms:
        run_program(program, examples[:1], lm)
    halves = [examples[index::len(bases)] for index in range(len(bases))]
    started = time.perf_counter()
    with ThreadPoolExecutor(len(bases)) as pool:
        list(pool.map(lambda pair: run_program(program, pair[1], pair[0], num_threads=4), zip(lms, halves)))
    seconds = time.perf_counter() - started
    return {"servers": len(bases), "examples": len(examples), "seconds": round(seconds, 2),
            "examples_per_s": round(len(examples) / seconds, 3)}


def measure_scaling(count: int, workdir: Path) -> dict:
    task = get_task("stereoset")
    examples = task.load_splits(DATA_DIR).val[:count]
    program = task.make_program()
    processes, bases = zip(*(start_llama(core, workdir / f"stereoset{core}.log") for core in (0, 1)))
    try:
        one = throughput(list(bases[:1]), program, examples)
        two = throughput(list(bases), program, examples)
        control = without_router(list(bases), program, examples)
    finally:
        stop(list(processes))
    return {"one": one, "two": two, "two_without_router": control,
            "efficiency": round(two["examples_per_s"] / (2 * one["examples_per_s"]), 3),
            "efficiency_without_router": round(control["examples_per_s"] / (2 * one["examples_per_s"]), 3),
            "labels_differing": sum(a != b for a, b in zip(one["labels"], two["labels"]))}


def measure_latency(count: int, workdir: Path) -> dict:
    """Per-call latency at equal load: one server with one call in flight, then a pool of two with one
    call in flight per server (two threads), on the same examples, plain and with the task's
    calibration. A pool must decode as one server (same labels, same paths) and cost no more per call.
    Controls: two single-server clients at once (what the machine does to each call when both cores
    serve, with no pool), each server's first call, and one label-token discovery."""
    task = get_task("stereoset")
    examples = task.load_splits(DATA_DIR).val[:count]
    program = task.make_program()
    processes, bases = zip(*(start_llama(core, workdir / f"latency{core}.log") for core in (0, 1)))
    rows: dict = {}
    try:
        options = LMOptions(chat_format="gemma", cache=False)
        first = [run_program(program, examples[:1], make_lm("openai/gemma3-270m", options.replace(api_base=base)))[1][0]
                 for base in bases]  # each server's own cold start, outside every measurement below
        fresh = make_lm("openai/gemma3-270m", options.replace(api_base=bases[0])).engine
        started = time.perf_counter()
        fresh._owners(tuple(task.labels))  # the label tokens, as a new engine discovers them
        rows["warm_up"] = {"server_first_call_s": [round(s, 3) for s in first],
                           "label_token_discovery_s": round(time.perf_counter() - started, 3)}
        for calibrate in (False, True):
            options = options.replace(calibrate=calibrate)
            single = make_lm("openai/gemma3-270m", options.replace(api_base=bases[0]))
            pool = make_lm("openai/gemma3-270m", options.replace(api_base=",".join(bases)))
            apart = [make_lm("openai/gemma3-270m", options.replace(api_base=base)) for base in bases]
            for lm in (single, pool, *apart):
                run_program(program, examples[:2], lm, num_threads=len(bases) if lm is pool else 1)
            one, one_s = run_program(program, examples, single, num_threads=1)
            two, two_s = run_program(program, examples, pool, num_threads=len(bases))
            with ThreadPoolExecutor(len(bases)) as executor:  # each client its own server, both at once
                halves = list(executor.map(lambda i: run_program(program, examples[i::len(bases)], apart[i])[1],
                                           range(len(bases))))
            both_s = [s for half in halves for s in half]
            one_labels, two_labels = [p.label if p else None for p in one], [p.label if p else None for p in two]
            rows["calibrated" if calibrate else "plain"] = {
                "examples": len(examples), "one_server_call_s": round(statistics.fmean(one_s), 3),
                "pool_call_s": round(statistics.fmean(two_s), 3),
                "ratio": round(statistics.fmean(two_s) / statistics.fmean(one_s), 3),
                "two_clients_call_s": round(statistics.fmean(both_s), 3),
                "two_clients_ratio": round(statistics.fmean(both_s) / statistics.fmean(one_s), 3),
                "labels_differing": sum(a != b for a, b in zip(one_labels, two_labels)),
                "one_server_paths": dict(single.engine.label_paths), "pool_paths": dict(pool.engine.label_paths),
                "pool_fallbacks": dict(pool.engine.fallback_reasons)}
    finally:
        stop(list(processes))
    return rows


def measure_cache(docs: int, hypotheses: int, workdir: Path) -> dict:
    task = get_task("contract_nli")
    test = task.load_splits(DATA_DIR).test
    doc_ids = list(dict.fromkeys(example.doc_id for example in test))[:docs]
    grouped = [ex for doc in doc_ids for ex in [e for e in test if e.doc_id == doc][:hypotheses]]
    base = task.make_program()
    program = with_rules(base, base_instructions(base), artifact_rules())
    results = {}
    for name, affinity in (("affinity", True), ("no affinity", False)):
        logs = [workdir / f"cnli-{name.replace(' ', '-')}{core}.log" for core in (0, 1)]
        processes, bases = zip(*(start_llama(core, log) for core, log in zip((0, 1), logs)))
        try:
            lm = make_lm("openai/gemma3-270m", LMOptions(api_base=",".join(bases), chat_format="gemma", cache=False,
                                                         prefix_affinity=affinity))
            started = time.perf_counter()
            run_program(program, grouped, lm, num_threads=8)
            seconds = time.perf_counter() - started
        finally:
            stop(list(processes))
        per_endpoint = [cache_use(log) for log in logs]
        evaluated = sum(e["evaluated"] for e in per_endpoint)
        total = sum(e["prompt_tokens"] for e in per_endpoint)
        results[name] = {"queries": len(grouped), "seconds": round(seconds, 1), "endpoints": per_endpoint,
                         "calls_per_endpoint": [s.calls for s in endpoint_stats(lm)],
                         "evaluated": evaluated, "reuse": round(1 - evaluated / total, 3) if total else None}
    return results


def measure_overhead(calls: int) -> dict:
    """Router cost per call: the pool vs the same instant server reached directly, both sequential,
    and the pool's most calls per second with many in flight."""
    task = get_task("stereoset")
    examples = (task.load_splits(DATA_DIR).val * 10)[:calls]
    program = task.make_program()
    processes, bases = zip(*(start_instant() for _ in range(2)))
    try:
        direct = make_lm("openai/x", LMOptions(api_base=bases[0], cache=False))
        pool = make_lm("openai/x", LMOptions(api_base=",".join(bases), cache=False))
        run_program(program, examples[:4], direct)
        run_program(program, examples[:4], pool)  # warm-up: imports, the Router, connections
        timings = {}
        for name, lm, threads in (("direct", direct, 1), ("pool", pool, 1), ("direct_concurrent", direct, 64),
                                  ("pool_concurrent", pool, 64)):
            started = time.perf_counter()
            run_program(program, examples, lm, num_threads=threads)
            timings[name] = (time.perf_counter() - started) / len(examples)
    finally:
        stop(list(processes))
    return {"calls": len(examples), "direct_ms": round(1000 * timings["direct"], 2),
            "pool_ms": round(1000 * timings["pool"], 2),
            "router_overhead_ms": round(1000 * (timings["pool"] - timings["direct"]), 2),
            "direct_max_calls_per_s": round(1 / timings["direct_concurrent"], 1),
            "pool_max_calls_per_s": round(1 / timings["pool_concurrent"], 1)}


def queueing(service_s: float, max_calls_per_s: float, overhead_s: float) -> dict:
    """Each server works one call at a time (service time S, kept busy by 4 calls in flight); the client
    routes at most C calls per second. n servers give X(n) = min(n / S, C), and each call waits the
    Router's overhead on top of S."""
    rows = {}
    for n in (1, 2, 8, 64):
        rate = min(n / service_s, max_calls_per_s)
        rows[n] = {"calls_per_s": round(rate, 2), "efficiency": round(rate / (n / service_s), 3),
                   "latency_s": round(service_s + overhead_s, 3)}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=16)
    parser.add_argument("--docs", type=int, default=2)
    parser.add_argument("--hypotheses", type=int, default=4)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--latency-only", action="store_true",
                        help="only the per-call latency of a pool vs one server at equal load (results/pool_latency.json)")
    args = parser.parse_args()
    if args.latency_only:
        with tempfile.TemporaryDirectory() as folder:
            rows = measure_latency(args.examples, Path(folder))
        print(f"warm-up: {rows['warm_up']}")
        for name, row in ((name, row) for name, row in rows.items() if name != "warm_up"):
            print(f"{name}: one server {row['one_server_call_s']} s per call, pool of two (one call in flight each) "
                  f"{row['pool_call_s']} s = {row['ratio']}x (two clients apart: {row['two_clients_ratio']}x); labels differing {row['labels_differing']}; paths "
                  f"{row['one_server_paths']} vs {row['pool_paths']}, pool fallbacks {row['pool_fallbacks']}")
        save_result("pool_latency", rows)
        return
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        overhead = measure_overhead(args.calls)
        print(f"router: {overhead['pool_ms']:.1f} ms per call through the pool vs {overhead['direct_ms']:.1f} ms direct "
              f"(+{overhead['router_overhead_ms']:.1f} ms); at most {overhead['pool_max_calls_per_s']:.0f} calls/s "
              f"through the pool, {overhead['direct_max_calls_per_s']:.0f} direct")
        scaling = measure_scaling(args.examples, workdir)
        for key in ("one", "two"):
            row = scaling[key]
            print(f"{row['servers']} server(s): {row['examples']} examples in {row['seconds']} s = "
                  f"{row['examples_per_s']} examples/s (mean call {row['mean_call_s']} s, per endpoint "
                  f"{row['calls_per_endpoint']}; label paths {row['label_paths']}, fallbacks {row['fallbacks']})")
        control = scaling["two_without_router"]
        print(f"2 servers without the Router (each its own half, both at once): {control['seconds']} s = "
              f"{control['examples_per_s']} examples/s")
        print(f"efficiency T(2)/(2 T(1)) = {scaling['efficiency']:.2f} through the pool, "
              f"{scaling['efficiency_without_router']:.2f} without it; labels that differ: {scaling['labels_differing']}")
        cache = measure_cache(args.docs, args.hypotheses, workdir)
        for name, row in cache.items():
            print(f"contract_nli, {name}: {row['queries']} queries in {row['seconds']} s, calls {row['calls_per_endpoint']}, "
                  f"evaluated {row['evaluated']} prompt tokens (reuse {row['reuse']:.0%}); per endpoint "
                  + "; ".join(f"{e['evaluated']}/{e['prompt_tokens']}" for e in row["endpoints"]))
    service = scaling["one"]["seconds"] / scaling["one"]["examples"]  # one server, always busy: its service time
    estimate = queueing(service, overhead["pool_max_calls_per_s"], overhead["router_overhead_ms"] / 1000)
    for n, row in estimate.items():
        print(f"estimate, {n:2d} servers: {row['calls_per_s']} calls/s, efficiency {row['efficiency']:.2f}, "
              f"latency {row['latency_s']} s per call")
    save_result("scale_out", {"overhead": overhead, "scaling": scaling, "cache": cache,
                              "service_s": round(service, 3), "estimate": estimate})


if __name__ == "__main__":
    main()
