"""A real OpenAI-compatible HTTP server that misbehaves on purpose, for the backend-fault tests.

    python tests/fault_server.py MODE

It binds a free port on 127.0.0.1 and prints ``ready PORT`` once it accepts connections.

MODE is one of:
    ok          answers every request (chat: a teacher's trace when one is asked for, else a StereoSet
                label; completions: top log-probabilities)
    labelonly   like ``ok``, but a StereoSet label even where a teacher's trace is asked for (garbled)
    401 / 404   refuses every request with that status
    429         rate-limits every request (Retry-After: 0)
    flaky       answers HTTP 500 to the first two requests, then like ``ok``
    silent      accepts the connection and never answers
    basic       like ``ok`` for ``Authorization: Basic`` user:secret, 401 otherwise
    nojson      like ``labelonly``, but HTTP 500 for a structured-output request (as llama.cpp's server)

``GET /_count`` returns how many model requests arrived and the Authorization headers seen.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = "[[ ## label ## ]]\nunrelated\n\n[[ ## completed ## ]]"
TRACE = ("[[ ## reasoning ## ]]\nThe filled-in word says nothing about the target.\n\n[[ ## rule ## ]]\n"
         "If the filled-in word has nothing to do with the target, the answer is unrelated.\n\n[[ ## completed ## ]]")
EXPECTED_BASIC = "Basic " + base64.b64encode(b"user:secret").decode()


class State:
    mode = "ok"
    requests = 0
    authorizations: list[str] = []
    lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"error": {"message": message, "type": "test_fault", "code": None}}, headers)

    def do_GET(self) -> None:
        if self.path == "/_count":
            with State.lock:
                self._send(200, {"requests": State.requests, "authorizations": State.authorizations})
        elif self.path.endswith("/models"):
            self._send(200, {"object": "list", "data": [{"id": "x", "object": "model"}]})
        else:
            self._error(404, "not found")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.endswith("/completions"):  # no tokenize endpoint; only model calls count
            return self._error(404, "no such path")
        with State.lock:
            State.requests += 1
            count = State.requests
            State.authorizations.append(self.headers.get("Authorization", ""))
        mode = State.mode
        if mode == "silent":
            time.sleep(3600)
            return
        if mode == "401" or (mode == "basic" and self.headers.get("Authorization") != EXPECTED_BASIC):
            return self._error(401, "Invalid credentials")
        if mode == "404":
            return self._error(404, "The model `x` does not exist")
        if mode == "429":
            return self._error(429, "Too many requests", {"Retry-After": "0"})
        if mode == "flaky" and count <= 2:
            return self._error(500, "temporary failure")
        if mode == "nojson" and "response_format" in request:
            return self._error(500, "json_schema is not supported")
        usage = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
        if self.path.endswith("/chat/completions"):
            asks_trace = "`rule`" in json.dumps(request.get("messages", [])) and mode not in ("labelonly", "nojson")
            message = {"role": "assistant", "content": TRACE if asks_trace else ANSWER}
            return self._send(200, {"id": f"c{count}", "object": "chat.completion", "created": 0,
                                    "model": request.get("model", "x"), "usage": usage,
                                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})
        if self.path.endswith("/completions"):
            logprobs = {"tokens": ["un"], "token_logprobs": [-0.1], "top_logprobs": [{"un": -0.1, "st": -2.0}],
                        "text_offset": [0]}
            return self._send(200, {"id": f"t{count}", "object": "text_completion", "created": 0,
                                    "model": request.get("model", "x"), "usage": usage,
                                    "choices": [{"index": 0, "text": "unrelated", "logprobs": logprobs,
                                                 "finish_reason": "stop"}]})
        return self._error(404, "no such path")


def requests_seen(base: str) -> dict:
    """The client side of ``GET /_count``: what a running fault server at ``base`` has seen."""
    with urllib.request.urlopen(base.removesuffix("/v1") + "/_count", timeout=5) as answer:
        return json.load(answer)


def main() -> None:
    State.mode = sys.argv[1]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"ready {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
