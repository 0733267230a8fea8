"""A stand-in for an Ollama server, written from Ollama's API reference, running a real GGUF model
through llama-cpp-python (the engine under Ollama) on 127.0.0.1.

    python tests/ollama_standin.py MODEL.gguf --tag gemma3-270m [--context-length N]

Prints ``ready PORT`` once it accepts connections. Speaks, non-streaming (``stream: false``):
``GET /api/version``, ``GET /api/tags``, ``POST /api/show``, ``POST /api/generate`` (``raw``,
``format``, ``options.num_ctx/num_predict/temperature/seed/stop``, ``logprobs``/``top_logprobs``)
and ``POST /api/chat`` (Gemma's turn format). A prompt longer than ``num_ctx`` is truncated as
Ollama does it (the first token and the tail are kept), and ``prompt_eval_count`` counts the tokens
evaluated after the prompt cache, as Ollama reports them. What differs from Ollama: one model, one
llama.cpp context of fixed size (``num_ctx`` is applied by truncation, not by a reload), Gemma's
template only, errors as ``{"error": ...}`` with Ollama's status codes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

GEMMA_TEMPLATE = ("{{- range $i, $_ := .Messages }}<start_of_turn>{{ if eq .Role \"assistant\" }}model"
                  "{{ else }}user{{ end }}\n{{ .Content }}<end_of_turn>\n{{ end }}<start_of_turn>model\n")


class Model:
    """The GGUF model behind a lock (a llama.cpp context is not thread-safe)."""

    def __init__(self, path: Path, tag: str, context_length: int):
        from llama_cpp import Llama

        self.tag = tag if ":" in tag else f"{tag}:latest"
        self.context_length = context_length
        self.digest = hashlib.sha256(path.name.encode() + str(path.stat().st_size).encode()).hexdigest()
        self.size = path.stat().st_size
        self.llama = Llama(model_path=str(path), n_ctx=min(context_length, 8192), n_threads=2, logits_all=False,
                           verbose=False)
        self.lock = threading.Lock()

    def serves(self, name: str) -> bool:
        return name in (self.tag, self.tag.removesuffix(":latest"))

    def run(self, prompt: str, body: dict[str, Any]) -> dict[str, Any]:
        options = body.get("options") or {}
        num_ctx = int(options.get("num_ctx") or 2048)
        num_predict = int(options.get("num_predict") or 128)
        with self.lock:
            started = time.monotonic()
            tokens = self.llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
            if len(tokens) > num_ctx:  # Ollama: keep the first token(s), drop from there, keep the tail
                tokens = tokens[:1] + tokens[len(tokens) - num_ctx + 1:]
            cached = 0
            for a, b in zip(self.llama.input_ids[: self.llama.n_tokens], tokens):
                if a != b:
                    break
                cached += 1
            cached = min(cached, len(tokens) - 1)
            if body.get("logprobs"):
                text, count, logprobs = self._greedy_with_logprobs(tokens, cached, num_predict,
                                                                    int(body.get("top_logprobs") or 0), options)
            else:
                text, count, logprobs = self._complete(tokens, num_predict, options, body.get("format"))
        answer = {"model": self.tag, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ"), "done": True,
                  "done_reason": "length" if count >= num_predict else "stop",
                  "total_duration": int((time.monotonic() - started) * 1e9),
                  "prompt_eval_count": len(tokens) - cached, "eval_count": count}
        if logprobs is not None:
            answer["logprobs"] = logprobs
        answer["_text"] = text
        return answer

    def _complete(self, tokens: list[int], num_predict: int, options: dict, schema: Any) -> tuple[str, int, None]:
        from llama_cpp import LlamaGrammar
        from llama_cpp.llama_grammar import JSON_GBNF

        grammar = None
        if schema == "json":
            grammar = LlamaGrammar.from_string(JSON_GBNF, verbose=False)
        elif isinstance(schema, dict):
            grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
        result = self.llama.create_completion(prompt=tokens, max_tokens=num_predict,
                                              temperature=float(options.get("temperature") or 0.0),
                                              seed=options.get("seed"), stop=options.get("stop") or [],
                                              grammar=grammar)
        return result["choices"][0]["text"], result["usage"]["completion_tokens"], None

    def _greedy_with_logprobs(self, tokens: list[int], cached: int, num_predict: int, top: int,
                              options: dict) -> tuple[str, int, list[dict]]:
        """Greedy decoding that lists each step's most likely tokens (Ollama 0.12.11's ``logprobs``)."""
        llama = self.llama
        llama.n_tokens = cached
        llama.eval(tokens[cached:])
        pieces: list[bytes] = []
        entries: list[dict] = []
        stops = options.get("stop") or []
        for _ in range(num_predict):
            logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),)).copy()
            shifted = logits - logits.max()
            logprobs = shifted - np.log(np.exp(shifted).sum())
            best = int(np.argmax(logprobs))
            ranked = np.argsort(-logprobs)[: max(top, 1)]
            piece = llama.detokenize([best])
            entries.append({"token": piece.decode("utf-8", "replace"), "logprob": float(logprobs[best]),
                            "top_logprobs": [{"token": llama.detokenize([int(t)]).decode("utf-8", "replace"),
                                              "logprob": float(logprobs[t])} for t in ranked[:top]]})
            if best == llama.token_eos():
                break
            pieces.append(piece)
            if any(stop in b"".join(pieces).decode("utf-8", "replace") for stop in stops):
                break
            llama.eval([best])
        return b"".join(pieces).decode("utf-8", "replace"), len(entries), entries


def render_gemma(messages: list[dict[str, str]]) -> str:
    """Ollama's Gemma 3 template: a system message opens the first user turn."""
    system = "\n\n".join(m["content"] for m in messages if m.get("role") == "system")
    turns = [m for m in messages if m.get("role") != "system"]
    if system and turns and turns[0]["role"] == "user":
        turns[0] = {"role": "user", "content": f"{system}\n\n{turns[0]['content']}"}
    text = "".join(f"<start_of_turn>{'model' if m['role'] == 'assistant' else 'user'}\n{m['content']}<end_of_turn>\n"
                   for m in turns)
    return text + "<start_of_turn>model\n"


def make_handler(model: Model) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def do_GET(self) -> None:
            if self.path == "/api/version":
                return self._send(200, {"version": "0.12.11"})
            if self.path == "/api/tags":
                details = {"format": "gguf", "family": "gemma3", "families": ["gemma3"], "parameter_size": "268.10M",
                           "quantization_level": "Q4_K_M"}
                return self._send(200, {"models": [{"name": model.tag, "model": model.tag,
                                                    "modified_at": "2025-11-13T00:00:00Z", "size": model.size,
                                                    "digest": model.digest, "details": details}]})
            return self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = self._body()
            name = body.get("model") or body.get("name") or ""
            if self.path not in ("/api/show", "/api/generate", "/api/chat"):
                return self._send(404, {"error": "not found"})
            if not model.serves(name):
                return self._send(404, {"error": f"model '{name}' not found"})
            if self.path != "/api/show" and body.get("stream", True):
                return self._send(400, {"error": "this stand-in answers stream=false requests only"})
            if self.path == "/api/show":
                info = {"general.architecture": "gemma3", "gemma3.context_length": model.context_length}
                return self._send(200, {"template": GEMMA_TEMPLATE, "parameters": "stop \"<end_of_turn>\"",
                                        "details": {"format": "gguf", "family": "gemma3"}, "model_info": info,
                                        "capabilities": ["completion"]})
            if self.path == "/api/generate":
                prompt = body.get("prompt", "")
                if not body.get("raw"):
                    prompt = render_gemma([{"role": "system", "content": body.get("system") or ""},
                                           {"role": "user", "content": prompt}])
                answer = model.run(prompt, body)
                answer["response"] = answer.pop("_text")
                return self._send(200, answer)
            answer = model.run(render_gemma(body.get("messages") or []), body)
            answer["message"] = {"role": "assistant", "content": answer.pop("_text")}
            return self._send(200, answer)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", type=Path)
    parser.add_argument("--tag", default="gemma3-270m")
    parser.add_argument("--context-length", type=int, default=32768)
    args = parser.parse_args()
    model = Model(args.model, args.tag, args.context_length)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(model))
    print(f"ready {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
