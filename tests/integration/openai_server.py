"""A small OpenAI-compatible HTTP server on 127.0.0.1 for tests: /v1/models and /v1/chat/completions.

It answers like a real server (JSON or server-sent events, a ``usage`` block, JSON for ``response_format``)
with text from a responder function, checks the bearer key when one is set, and records every request. For error
tests it can answer the first chat requests with given HTTP statuses (``failures``) and wait before answering
(``delay_s``); the real-model server is :mod:`tests.integration.model_server`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

MODEL = "tiny-server-model"


def _messages(payload: dict) -> list[BaseMessage]:
    kinds = {"system": SystemMessage, "assistant": AIMessage}
    out = []
    for message in payload.get("messages", []):
        content = message.get("content") or ""
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        out.append(kinds.get(message.get("role"), HumanMessage)(content))
    return out


class FakeOpenAIServer:
    """Start with ``with FakeOpenAIServer(responder) as server: server.url``."""

    def __init__(
        self,
        responder: Callable[[list[BaseMessage]], str],
        *,
        api_key: str | None = None,
        structured: Callable[[dict], dict] | None = None,
        failures: list[int] | None = None,
        delay_s: float = 0.0,
    ):
        self.responder, self.api_key, self.structured = responder, api_key, structured
        self.failures, self.delay_s = list(failures or []), delay_s
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                return

            def _authorized(self) -> bool:
                if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    self._json(401, {"error": {"message": "invalid api key"}})
                    return False
                return True

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if not self._authorized():
                    return
                if self.path.rstrip("/") == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self):
                if not self._authorized():
                    return
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append({"path": self.path, **payload})
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._json(404, {"error": {"message": "not found"}})
                    return
                if server.failures:
                    status = server.failures.pop(0)
                    self._json(status, {"error": {"message": f"injected HTTP {status}", "type": "server_error"}})
                    return
                if server.delay_s:
                    time.sleep(server.delay_s)
                messages = _messages(payload)
                if payload.get("response_format") and server.structured is not None:
                    text = json.dumps(server.structured(payload))
                else:
                    text = server.responder(messages)
                prompt = sum(len(str(m.content).split()) for m in messages)
                usage = {
                    "prompt_tokens": prompt,
                    "completion_tokens": len(text.split()),
                    "total_tokens": prompt + len(text.split()),
                }
                base = {"id": "chatcmpl-1", "created": int(time.time()), "model": payload.get("model", MODEL)}
                if payload.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    words = text.split(" ")
                    for i, word in enumerate(words):
                        piece = word if i == len(words) - 1 else word + " "
                        chunk = {
                            **base,
                            "object": "chat.completion.chunk",
                            "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                        }
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    end = {
                        **base,
                        "object": "chat.completion.chunk",
                        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                    }
                    self.wfile.write(f"data: {json.dumps(end)}\n\n".encode())
                    if (payload.get("stream_options") or {}).get("include_usage"):
                        final = {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}
                        self.wfile.write(f"data: {json.dumps(final)}\n\n".encode())
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                    return
                self._json(
                    200,
                    {
                        **base,
                        "object": "chat.completion",
                        "usage": usage,
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                        ],
                    },
                )

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeOpenAIServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
