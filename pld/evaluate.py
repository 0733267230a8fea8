"""Run a DSPy program over examples and score it: one sequential or threaded loop.

A student whose answer does not parse yields ``None`` for that example, which the metric counts
as wrong and as a format failure; the run goes on. Any other exception (an engine error, a bug)
is no answer at all: it stops the run with ``StudentError``. A backend that cannot answer at
all (refused credentials, unknown model or path, unreachable or hung server) is no answer: it
raises ``BackendError`` at once (``pld.faults``) instead of scoring every example as a failure.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import Any

import dspy
from pydantic import BaseModel
from tqdm.auto import tqdm

from pld.backends.base import backend_info
from pld.backends.lm import default_concurrency
from pld.backends.endpoint_stats import EndpointStats, endpoint_stats, stats_since
from pld.backends.label_paths import LabelPaths, counted_since, label_path_counts
from pld.errors import PLDError, StudentError
from pld.faults import raise_if_backend_fault, redact
from pld.metrics import LabelScores, MacroF1
from pld.usage import counting

logger = logging.getLogger(__name__)


def student_adapter() -> dspy.ChatAdapter:
    """ChatAdapter without its JSON fallback: a parse failure must not cost a hidden second call."""
    return dspy.ChatAdapter(use_json_adapter_fallback=False)


def predict_one(program: dspy.Module, example: dspy.Example, lm: dspy.BaseLM) -> tuple[Any, float]:
    """One prediction (``None`` when the LM's answer could not be parsed) and its latency;
    a backend fault raises ``BackendError``."""
    from dspy.utils.exceptions import AdapterParseError

    started = time.perf_counter()
    try:
        with dspy.context(lm=lm, adapter=student_adapter()):
            prediction = program(**example.inputs())
    except PLDError:
        raise
    except AdapterParseError as exc:  # an answer that does not parse: a wrong answer, counted as such
        logger.debug("unparseable answer: %s", redact(str(exc)))
        prediction = None
    except Exception as exc:  # noqa: BLE001 - classified: a backend fault, else the student itself failed
        raise_if_backend_fault(exc, lm)
        raise StudentError(f"the student failed with {type(exc).__name__}: {redact(str(exc))[:300]} (not a wrong "
                           "answer: the run stops rather than score a failure)") from exc
    return prediction, time.perf_counter() - started


def run_program(
    program: dspy.Module,
    examples: Sequence[dspy.Example],
    lm: dspy.BaseLM,
    *,
    num_threads: int = 1,
    progress: str | None = None,
) -> tuple[list[Any], list[float]]:
    """Predictions and latencies in example order (asked in ``prefix_order``); threads only help
    server backends."""
    order = prefix_order(program, examples)
    results: dict[int, tuple[Any, float]] = {}
    with tqdm(total=len(examples), desc=progress, disable=progress is None, leave=False) as bar:
        if num_threads <= 1:
            for index in order:
                results[index] = predict_one(program, examples[index], lm)
                bar.update()
        else:
            pool = ThreadPoolExecutor(num_threads)
            try:
                futures = {index: pool.submit(copy_context().run, predict_one, program, examples[index], lm)
                           for index in order}
                for index, future in futures.items():
                    results[index] = future.result()  # a worker's BackendError surfaces here
                    bar.update()
            finally:
                pool.shutdown(wait=True, cancel_futures=True)  # after a fault, queued examples are not sent
    return [results[i][0] for i in range(len(examples))], [results[i][1] for i in range(len(examples))]


def prefix_order(program: dspy.Module, examples: Sequence[dspy.Example]) -> list[int]:
    """The order to ask ``examples`` in: sorted by their input values, in the order the prompt
    shows them (the first predictor's input fields). Consecutive prompts then share their longest
    prefixes (the same document, the same plan), which an engine that keeps the previous prompt's
    KV cache does not compute again. Which answer comes back does not depend on the order; an
    engine may still score a near tie differently when more of the prompt comes from its cache
    (floating point), as it may after any other change of what ran before."""
    predictors = program.predictors()
    fields = list(predictors[0].signature.input_fields) if predictors else []

    def key(index: int) -> tuple[str, ...]:
        try:
            inputs = examples[index].inputs()
        except ValueError:  # no input keys: predict_one reports it as that example's failure
            return ()
        return tuple(str(inputs.get(name, "")) for name in (fields or list(inputs.keys())))

    return sorted(range(len(examples)), key=key)


class EvalReport(BaseModel):
    """Scores plus what they cost: calls, tokens and latency of the student."""

    scores: LabelScores
    calls: int
    cache_hits: int
    input_tokens: int
    output_tokens: int
    mean_latency_s: float
    p95_latency_s: float
    predictions: list[str | None]
    # Served students (ollama/, openai/ with --chat-format): which path decoded the labels during this
    # run ("paths") and, where the engine says, why scoring fell back ("fallbacks"); None otherwise.
    label_decoding: LabelPaths | None = None
    # A student on several servers (pld.backends.pool): calls, failures and failovers per endpoint in this run.
    endpoints: list[EndpointStats] | None = None


def evaluate_program(
    program: dspy.Module,
    examples: Sequence[dspy.Example],
    lm: dspy.BaseLM,
    metric: MacroF1,
    *,
    num_threads: int | None = 1,
    progress: str | None = None,
) -> EvalReport:
    """Score ``program`` on ``examples``; ``num_threads=None`` takes 1, or for a pool of servers the
    sum of its endpoints' concurrency."""
    if num_threads is None:
        num_threads = default_concurrency(lm) if backend_info(lm).endpoints else 1
    before, endpoints_before = label_path_counts(lm), endpoint_stats(lm)
    with counting({"student": lm}, phase="evaluate") as usage:
        predictions, latencies = run_program(program, examples, lm, num_threads=num_threads, progress=progress)
    totals = usage.totals()
    ordered = sorted(latencies) or [0.0]
    return EvalReport(
        scores=metric.score(examples, predictions),
        calls=totals.calls,
        cache_hits=totals.cache_hits,
        input_tokens=totals.input_tokens,
        output_tokens=totals.output_tokens,
        mean_latency_s=statistics.fmean(ordered),
        p95_latency_s=ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        predictions=[metric.predicted_label(p) for p in predictions],
        label_decoding=counted_since(before, label_path_counts(lm)),
        endpoints=stats_since(endpoints_before, endpoint_stats(lm)),
    )
