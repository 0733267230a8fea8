"""Before any run: which endpoints of a pool answer, and whether their Ollama builds agree."""

from __future__ import annotations

import logging

from pld.backends.options import LMOptions
from pld.backends.pool.config import Endpoint
from pld.errors import BackendError
from pld.faults import split_credentials

logger = logging.getLogger(__name__)


def check_endpoints(endpoints: list[Endpoint], options: LMOptions) -> str | None:
    """Before any run: an endpoint nothing listens at is reported and left to the Router (it may come
    back); all of them down, or one that lacks the model, stops the run. Returns the Ollama digest."""
    from pld.backends.ollama import check_ollama
    from pld.backends.openai_compat import check_reachable

    served = [endpoint for endpoint in endpoints if endpoint.address is not None]
    down, digests = [], set()
    for endpoint in served:
        try:
            check_reachable(split_credentials(endpoint.address)[0], options.timeout)
        except BackendError as error:
            down.append(str(error).split(";")[0])
            continue
        if endpoint.kind == "ollama":
            digests.add(check_ollama(endpoint.address, endpoint.model, timeout=min(options.timeout or 10.0, 10.0),
                                     retries=options.num_retries))
    if served and len(down) == len(served):
        raise BackendError(f"no endpoint of the pool can be reached ({'; '.join(down)}); start the servers, "
                           "or correct --api-base / --router.")
    for line in down:
        logger.warning("%s; the pool goes on without it until it answers", line)
    if len(digests) > 1:
        logger.warning("the Ollama hosts serve different builds of the model (digests %s); labels may differ "
                       "between endpoints", ", ".join(sorted(str(digest) for digest in digests)))
    return digests.pop() if len(digests) == 1 else None
