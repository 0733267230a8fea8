"""Which packaged teacher writes usable micro-rules on a house-policy task? 0.5B vs 1.5B.

For each teacher: label-conditioned traces of the same label-balanced training examples, then the
pipeline's own screening (``pld.pipeline.hygiene``: wrong label, copied input, no condition, ...).
Prints how many micro-rules survive, why the others were dropped, and how many name an
override's field value (the policy a teacher should find), with seconds per trace.

    python benchmarks/teacher_rules.py --teachers qwen2.5-0.5b qwen2.5-1.5b --n 12
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import dspy

from _common import DATA_DIR, save_result

from pld import LMOptions, make_lm
from pld.evaluate import student_adapter
from pld.jobs import sample
from pld.pipeline.hygiene import screen_traces
from pld.pipeline.teacher import Teacher
from pld.pipeline.traces import collect_traces, program_task
from pld.programs.policy_domains import DOMAINS
from pld.tasks import get_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teachers", nargs="+", default=["qwen2.5-0.5b", "qwen2.5-1.5b"])
    parser.add_argument("--task", default="policy_support")
    parser.add_argument("--n", type=int, default=12)
    args = parser.parse_args()
    task = get_task(args.task)
    domain = DOMAINS[args.task.removeprefix("policy_")]
    examples = sample(task, task.load_splits(DATA_DIR).train, args.n, 0)
    rows = {}
    for name in args.teachers:
        lm = make_lm(f"local/{name}", LMOptions(cache=False))
        started = time.perf_counter()
        with dspy.context(adapter=student_adapter()):
            traces = collect_traces(Teacher(task.labels), lm, examples, label_field=task.label_field, progress=False,
                                    task=program_task(task.make_program(), task.label_field, task.labels))
        seconds = (time.perf_counter() - started) / max(1, len(examples))
        kept, dropped = screen_traces(traces, task.labels)
        policy = [t.micro_rule for t in kept if any(o.value.lower() in t.micro_rule.lower() for o in domain.overrides)]
        rows[name] = {"traces": len(traces), "kept": len(kept), "dropped": dict(Counter(r.kind for r in dropped)),
                      "names_an_override": len(policy), "seconds_per_trace": round(seconds, 1),
                      "kept_rules": [t.micro_rule for t in kept]}
        print(f"{name:14} {len(kept)}/{len(traces)} micro-rules kept, {len(policy)} name an override's value; "
              f"dropped {dict(Counter(r.kind for r in dropped))}; {seconds:.1f} s per trace")
        for rule in rows[name]["kept_rules"]:
            print(f"    {rule}")
    save_result("teacher_rules", {"task": args.task, "n": args.n, "teachers": rows})


if __name__ == "__main__":
    main()
