"""The OpenAI-compatible backend against a local chat-completions server backed by the real hf backend."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from coevolve.agents import Policy, SamplingParams, make_policy
from coevolve.data.records import Message

pytest.importorskip("openai")


class ChatServer(ThreadingHTTPServer):
    """Serves POST /v1/chat/completions from a Policy; can answer 503 to the first `fail_next` requests."""

    def __init__(self, policy: Policy) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.policy, self.lock, self.fail_next, self.requests = policy, threading.Lock(), 0, 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: ChatServer

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.requests += 1
            if self.server.fail_next > 0:
                self.server.fail_next -= 1
                return self._send(503, {"error": {"message": "busy", "type": "server_error"}})
            if not self.path.endswith("/chat/completions"):
                return self._send(404, {"error": {"message": f"no route {self.path}"}})
            params = SamplingParams(
                temperature=body.get("temperature", 1.0),
                top_p=body.get("top_p", 1.0),
                max_new_tokens=body["max_tokens"],
                stop=tuple(body.get("stop") or ()),
                n=body.get("n", 1),
                seed=body.get("seed"),
            )
            conv = [Message(m["role"], m["content"]) for m in body["messages"]]
            gens = self.server.policy.generate([conv], params)[0]
        if gens[0].finish_reason == "context_length":
            error = {
                "message": "This model's maximum context length is exceeded",
                "code": "context_length_exceeded",
            }
            return self._send(400, {"error": error})
        choices = [
            {
                "index": i,
                "message": {"role": "assistant", "content": g.text},
                "finish_reason": g.finish_reason,
            }
            for i, g in enumerate(gens)
        ]
        usage = {
            "prompt_tokens": gens[0].prompt_tokens,
            "completion_tokens": sum(g.completion_tokens for g in gens),
            "total_tokens": gens[0].prompt_tokens + sum(g.completion_tokens for g in gens),
        }
        self._send(200, {"id": "x", "object": "chat.completion", "created": int(time.time()),
                         "model": body["model"], "choices": choices, "usage": usage})  # fmt: skip


@pytest.fixture(scope="module")
def hf(tiny_model_dir: Path):
    return make_policy("hf", str(tiny_model_dir), device="cpu")


@pytest.fixture
def server(hf):
    srv = ChatServer(hf)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _convs() -> list[list[Message]]:
    return [
        [Message("user", "Buy a red shirt."), Message("assistant", "OK"), Message("user", "x " * k)]
        for k in (1, 5)
    ]


def test_openai_backend_matches_hf_greedy(hf, server):
    client = make_policy("openai", "tiny", base_url=server.url, api_key="test")
    params = SamplingParams(max_new_tokens=8)
    remote = client.generate(_convs(), params)
    local = hf.generate(_convs(), params)
    assert [g[0].text for g in remote] == [g[0].text for g in local]
    assert [g[0].completion_tokens for g in remote] == [len(g[0].token_ids) for g in local]
    assert [g[0].prompt_tokens for g in remote] == [g[0].prompt_tokens for g in local]
    assert remote[0][0].token_ids == []  # servers expose text only
    client.close()


def test_openai_backend_retries_server_errors(server):
    server.fail_next = 2
    client = make_policy("openai", "tiny", base_url=server.url, api_key="test", max_retries=3)
    out = client.generate(_convs()[:1], SamplingParams(max_new_tokens=4))
    assert out[0][0].finish_reason in ("stop", "length")
    assert server.requests == 3 and server.fail_next == 0


def test_openai_backend_maps_context_errors(tiny_model_dir):
    small = make_policy("hf", str(tiny_model_dir), device="cpu", max_context=40)
    srv = ChatServer(small)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        client = make_policy("openai", "tiny", base_url=srv.url, api_key="test")
        out = client.generate([[Message("user", "word " * 50)]], SamplingParams(max_new_tokens=4, n=2))
        assert [g.finish_reason for g in out[0]] == ["context_length"] * 2
    finally:
        srv.shutdown()
        srv.server_close()
