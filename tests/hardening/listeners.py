"""Real HTTP listeners on 127.0.0.1 that record what they receive (headers, paths, bodies)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Listener:
    """An HTTP server on a free loopback port; ``handler(method, path, body) -> (status, headers, body)``."""

    def __init__(self, handler=None) -> None:
        self.requests: list[dict] = []
        self.handler = handler or models_answer
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )
                status, headers, payload = outer.handler(self.command, self.path, body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Listener:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def authorizations(self) -> list[str | None]:
        """The Authorization header of every request received (None where absent)."""
        return [
            next((v for k, v in request["headers"].items() if k.lower() == "authorization"), None)
            for request in self.requests
        ]


def models_answer(method: str, path: str, body: bytes):
    """An OpenAI-compatible ``/v1/models`` and a one-word chat completion."""
    if path.endswith("/models"):
        return 200, {"content-type": "application/json"}, json.dumps({"data": [{"id": "m"}]}).encode()
    answer = {
        "id": "c1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    return 200, {"content-type": "application/json"}, json.dumps(answer).encode()


def redirect_to(target: str):
    """A handler that answers every request with a 307 to the same path on ``target``."""

    def handler(method: str, path: str, body: bytes):
        return 307, {"location": target + path}, b""

    return handler
