"""The review web app: one artifact, on loopback, behind a per-run token.

FastAPI (Starlette) serves the review page and a small JSON API; re-scoring runs in a worker
thread and the page polls its progress, so a slow student shows progress and a student fault
shows as a message. Safe by construction: it binds 127.0.0.1 only, refuses any request without the
token printed in its address, reads and writes only the artifact it was started on (saving is
``pld edit``'s atomic write), and never shows credentials (the page shows specs and servers as
the manifest records them, without userinfo).
"""

from __future__ import annotations

import hmac
import itertools
import logging
import secrets
import socket
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any

from pld.artifacts.review import diff_rules
from pld.errors import PLDError
from pld.review.session import ReviewSession

logger = logging.getLogger(__name__)


@dataclass
class Job:
    """A re-score or a leave-one-out run in the background, as the page polls it."""

    kind: str
    total: int
    done: int = 0
    status: str = "running"  # running, done, failed
    result: Any = None
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def advance(self, calls: int) -> None:
        with self.lock:
            self.done = min(self.total, self.done + calls)

    def as_dict(self) -> dict[str, Any]:
        with self.lock:
            return {"kind": self.kind, "status": self.status, "done": self.done, "total": self.total,
                    "result": self.result, "error": self.error}


def create_app(session: ReviewSession, token: str) -> Any:
    """The app over ``session``; every request must carry ``token`` (query ``token`` or header
    ``X-PLD-Token``)."""
    from fastapi import Body, FastAPI, Request
    from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse

    from pld.artifacts.review_html import review_page

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    jobs: dict[str, Job] = {}
    ids = itertools.count(1)

    @app.middleware("http")
    async def require_token(request: Request, call_next: Any) -> Any:
        supplied = request.query_params.get("token") or request.headers.get("x-pld-token") or ""
        if not hmac.compare_digest(supplied.encode(), token.encode()):
            return PlainTextResponse("forbidden: open the address `pld review` printed; it carries this run's token",
                                     status_code=403)
        return await call_next(request)

    @app.exception_handler(PLDError)
    async def pld_error(request: Request, exc: PLDError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return review_page(session.manifest, session.report, live=True)

    @app.get("/api/state")
    def state() -> dict[str, Any]:
        return {"rules": session.saved_rules, "edited_by_hand": session.manifest.edited_by_hand,
                "validation": len(session.selection), "held_back": len(session.held_back)}

    @app.post("/api/jobs")
    def start(kind: str = Body(...), rules: list[str] = Body(default_factory=list)) -> dict[str, Any]:
        if kind not in ("rescore", "contributions"):
            return JSONResponse({"error": f"unknown job {kind!r}: rescore or contributions"}, status_code=400)
        lists = 2 if kind == "rescore" else max(1, len(session.saved_rules)) + 1
        job = Job(kind, total=lists * (len(session.selection) + len(session.held_back)))
        job_id = str(next(ids))
        jobs[job_id] = job
        threading.Thread(target=_run, args=(session, job, kind, rules), daemon=True, name=f"review-{job_id}").start()
        return {"id": job_id}

    @app.get("/api/jobs/{job_id}")
    def poll(job_id: str) -> dict[str, Any]:
        job = jobs.get(job_id)
        if job is None:
            return JSONResponse({"error": f"no job {job_id}"}, status_code=404)
        return job.as_dict()

    @app.post("/api/diff")
    def diff(rules: list[str] = Body(..., embed=True)) -> dict[str, Any]:
        return {"lines": session.diff(rules)}

    @app.post("/api/save")
    def save(rules: list[str] = Body(..., embed=True)) -> dict[str, Any]:
        previous = session.saved_rules
        manifest = session.save(rules)
        return {"rules": session.saved_rules, "edited_by_hand": manifest.edited_by_hand,
                "diff": diff_rules(previous, session.saved_rules)}

    return app


def _run(session: ReviewSession, job: Job, kind: str, rules: list[str]) -> None:
    try:
        result = (session.compare(rules, job.advance) if kind == "rescore" else session.contributions(job.advance))
        with job.lock:
            job.result, job.status, job.done = result, "done", job.total
    except PLDError as exc:  # a student fault, a bad rule: one line on the page
        with job.lock:
            job.error, job.status = str(exc), "failed"
    except Exception as exc:  # noqa: BLE001 - a bug still reaches the page, not a blank one
        logger.error("review job failed:\n%s", traceback.format_exc())
        with job.lock:
            job.error, job.status = f"unexpected error: {type(exc).__name__}: {exc}", "failed"


def free_socket(port: int = 0) -> socket.socket:
    """A listening socket on loopback (port 0: a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)  # accepting from now on: a browser opened before uvicorn starts is not refused
    return sock


def new_token() -> str:
    return secrets.token_urlsafe(24)


def serve(path: str, *, port: int = 0, data_dir: str | None = None, open_browser: bool = True,
          student: str | None = None, options: Any = None, decoding: dict[str, Any] | None = None) -> None:
    """Review ``path`` until interrupted: bind loopback, print the address with its token, open it in
    a browser where one exists."""
    import uvicorn

    from pld.review.session import open_session

    session = open_session(path, data_dir=data_dir, student=student, options=options, decoding=decoding)
    token = new_token()
    sock = free_socket(port)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/?token={token}"
    print(f"reviewing {path} at {url}\n(only this address works: it carries this run's token; Ctrl-C stops)",
          flush=True)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    server = uvicorn.Server(uvicorn.Config(create_app(session, token), log_level="warning"))
    server.run(sockets=[sock])
