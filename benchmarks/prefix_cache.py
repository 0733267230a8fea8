"""Prompt tokens the embedded student actually processed vs what a perfect prefix cache would
process, on ContractNLI queries grouped by document (all hypotheses of a document in a row).

A perfect cache processes, for each prompt, only the tokens after its longest common prefix with
any earlier prompt. The engine keeps one KV cache and reuses the prefix shared with the previous
prompt, so grouping by document is what makes it near-perfect; the interleaved order shows why.
Goal (issue): >= 80 % efficiency (perfect / actual) when grouped.
Run: python benchmarks/prefix_cache.py [--docs 2]
"""

from __future__ import annotations

import argparse
import random

from _common import DATA_DIR, artifact_rules, save_result

from pld.evaluate import run_program, student_adapter
from pld.backends.lm import make_lm
from pld.backends.options import LMOptions

DEFAULT_STUDENT = "local/gemma3-270m"  # the model these recorded numbers were measured on
from pld.backends.decoding import shared_prefix_length
from pld.backends.local.lm import engine_of
from pld.programs import truncate_document
from pld.pipeline.render import base_instructions, with_rules
from pld.tasks import get_task


def prompt_ids(lm, program, example) -> list[int]:
    """The exact token ids the engine sees for this example."""
    signature = program.predict.signature
    inputs = dict(example.inputs())
    inputs["document"] = truncate_document(inputs["document"], program.max_document_chars)
    messages = student_adapter().format(signature, demos=[], inputs=inputs)
    turns = [(m["role"], m["content"]) for m in messages[1:]]
    return engine_of(lm).prompt_ids(messages[0]["content"], turns)


def measure(order, lm, program, reset) -> dict:
    """Tokens processed for ``order``, starting from a KV cache that holds an unrelated prompt."""
    reset()
    engine = engine_of(lm)
    before_total, before_done = engine.prompt_tokens_total, engine.prompt_tokens_evaluated
    run_program(program, order, lm)
    total = engine.prompt_tokens_total - before_total
    actual = engine.prompt_tokens_evaluated - before_done
    prompts = [prompt_ids(lm, program, ex) for ex in order]
    perfect = sum(len(p) - max([shared_prefix_length(p, q) for q in prompts[:i]] or [0]) for i, p in enumerate(prompts))
    return {"queries": len(order), "prompt_tokens": total, "processed": actual, "perfect": perfect,
            "efficiency": round(perfect / actual, 3), "reuse": round(1 - actual / total, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=2)
    args = parser.parse_args()
    task = get_task("contract_nli")
    test = task.load_splits(DATA_DIR).test
    doc_ids = list(dict.fromkeys(ex.doc_id for ex in test))[: args.docs]
    grouped = [ex for ex in test if ex.doc_id in doc_ids]
    interleaved = sorted(grouped, key=lambda ex: (ex.hypothesis_id, ex.doc_id))
    random.Random(0).shuffle(interleaved)
    lm = make_lm(DEFAULT_STUDENT, LMOptions(cache=False))
    base = task.make_program()
    program = with_rules(base, base_instructions(base), artifact_rules())
    stereoset = get_task("stereoset")
    unrelated = stereoset.load_splits(DATA_DIR).val[:1]

    def reset() -> None:  # an unrelated task's prompt: neither order starts with a warm document
        run_program(stereoset.make_program(), unrelated, lm)

    results = {"grouped": measure(grouped, lm, program, reset), "interleaved": measure(interleaved, lm, program, reset)}
    for name, r in results.items():
        print(f"{name:11s} {r['queries']} queries: {r['prompt_tokens']} prompt tokens, processed {r['processed']}, "
              f"perfect cache {r['perfect']} -> efficiency {r['efficiency']:.0%} (reuse {r['reuse']:.0%})")
    save_result("prefix_cache", results)


if __name__ == "__main__":
    main()
