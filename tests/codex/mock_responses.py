#!/usr/bin/env python3
"""mock_responses.py: a scripted mock of the OpenAI Responses API for running real Codex offline.

Contract (Python 3.11 standard library only):

- Listens on 127.0.0.1, port 0 (the OS picks). Once it accepts connections it writes the port
  number to ``--port-file`` by writing a temporary file and renaming it, so a reader never sees
  a partial value.
- Logs every request as one JSON line to ``--requests-log``: ``seq``, ``time``, ``method``,
  ``path``, ``headers`` (lower-case names), ``body`` (parsed JSON, else ``body_text``), plus
  ``script``/``step`` for ``/v1/responses``. ``Content-Encoding: zstd`` bodies are decoded with
  ``compression.zstd`` (Python >= 3.14) or the ``zstd`` command when present; otherwise the entry
  holds ``body_zstd_base64`` and ``body_error`` (3.11 has no zstd in its standard library).
- ``POST /v1/responses`` answers Server-Sent Events decided from the request alone: the prompt
  is the last user message Codex did not inject, the turn so far is the items after it, and a
  keyword in the prompt picks a script (see ``SCRIPTS`` below). A request whose
  ``x-codex-turn-metadata`` says ``request_kind: compaction`` gets a summary message; a
  ``guardian_review`` request gets an "allow" assessment.
- Usage is deterministic: input = 1200 + 37 x input items; cached = input // 2 when there are
  more than 3 items, input - 200 on the closing message after a shell command's output;
  output 42; reasoning 16; total = input + output. The COMPACT script reports 250,000 input
  tokens on its tool-call reply, once per ``prompt_cache_key``.
- Ids are ``<kind>_NNNN_xxxxxxxx`` (global counter, random hex suffix).
- Every completed reply is appended to the ground-truth list ``--model-calls`` (a JSON array
  rewritten by rename): response_id, invocation, thread_id, turn_id, thread_source,
  request_kind, model and the usage numbers. ``invocation`` is a free label (default ``exec``)
  that a driver may change with ``POST /_mock/invocation`` (plain-text body).
- ``POST /v1/analytics/...`` gets 404, ``GET /backend-api/plugins/featured`` gets ``[]``,
  ``POST /v1/logs|traces|metrics`` (Codex's own OTLP/JSON export) gets ``{}``; anything else 404.
- Stops on SIGTERM or SIGINT.

Scripts (keyword in the prompt, checked in this order; default = SHELL):

- HANG: ``response.created`` then only ``: keep-alive`` comments until the client goes away.
- ERROR: HTTP 400 with an OpenAI-style ``invalid_request_error`` JSON body (no stream).
- NOTOOL: a reasoning item and a plain message.
- SPAWN: ``spawn_agent`` (the child's prompt contains NOTOOL) -> ``wait_agent`` -> message.
- SKILL: the greeting skill (``tests/fixtures/skills/greeting``): ``cat`` its SKILL.md (unless
  Codex injected it for a ``$greeting`` prompt) -> ``cat`` its ``references/style.md`` -> run
  its ``scripts/greet.sh`` -> message; one command per reply, paths from the request.
- COMPACT: an ``echo hello`` tool call reporting 250,000 input tokens -> (Codex compacts) ->
  message.
- ESCALATE: ``exec_command`` with ``sandbox_permissions: require_escalated`` and a
  justification -> message.
- FAIL: ``ls /nonexistent`` (exits non-zero) -> message.
- MULTI: two ``exec_command`` calls in one reply -> message.
- SLEEP: ``touch tool-started; sleep 30`` (a long command to interrupt) -> message.
- NEST: ``"$NESTED_CODEX" exec … "${NEST_NEXT:-please run echo hello}"`` (a nested Codex, which
  gets SHELL, or with ``NEST_NEXT`` set that prompt, ``NEST_NEXT`` emptied for it; the command
  waits up to 30 s for it) -> message.
- SHELL: ``echo hello`` -> message.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mock_scripts import Turn, choose, usage

KEEP_ALIVE_SECONDS = 0.25
HANG_LIMIT_SECONDS = 300.0
SCRIPTED_ERROR = {
    "error": {
        "type": "invalid_request_error",
        "code": "mock_scripted_error",
        "message": "mock: the ERROR script always fails this request",
    }
}


# --------------------------------------------------------------------------------------------
# Shared state: id counter, compaction bookkeeping, request log and ground-truth calls.


@dataclass
class State:
    """Everything the handler threads share, guarded by one lock."""

    requests_log: str
    model_calls_path: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: int = 0
    seq: int = 0
    invocation: str = "exec"
    huge_reported: set[str] = field(default_factory=set)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def new_id(self, kind: str) -> str:
        """Returns ``<kind>_NNNN_<8 hex>`` with the next global counter value."""
        with self.lock:
            self.counter += 1
            n = self.counter
        return f"{kind}_{n:04d}_{secrets.token_hex(4)}"

    def claim_huge(self, cache_key: str) -> bool:
        """True the first time a prompt_cache_key asks for the huge (compaction) usage."""
        with self.lock:
            if cache_key in self.huge_reported:
                return False
            self.huge_reported.add(cache_key)
            return True

    def log_request(self, entry: dict[str, Any]) -> None:
        """Appends one request entry (with a sequence number) to the JSONL request log."""
        with self.lock:
            self.seq += 1
            entry = {"seq": self.seq, **entry}
            with open(self.requests_log, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def record_call(self, call: dict[str, Any]) -> None:
        """Appends a completed model call and rewrites the ground-truth file atomically."""
        with self.lock:
            self.calls.append(
                {"response_id": call.pop("response_id"), "invocation": self.invocation, **call}
            )
            write_atomic(self.model_calls_path, json.dumps(self.calls, indent=2) + "\n")


def write_atomic(path: str, text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary file and a rename."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def decode_zstd(raw: bytes) -> bytes:
    """Decompresses a zstd body with compression.zstd or the zstd command; raises ValueError."""
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python >= 3.14

        return zstd.decompress(raw)
    except ImportError:
        pass
    exe = shutil.which("zstd")
    if exe is None:
        raise ValueError("no zstd decoder: Python < 3.14 and no zstd command on PATH")
    done = subprocess.run([exe, "-d", "-c"], input=raw, capture_output=True, check=False)
    if done.returncode != 0:
        raise ValueError(f"zstd -d failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


# --------------------------------------------------------------------------------------------
# Server-Sent Events.


def item_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream events for one output item: added, deltas, done."""
    kind, item_id = item["type"], item["id"]
    base = {"item_id": item_id, "output_index": index}
    if kind == "reasoning":
        text = item["summary"][0]["text"]
        started = {**item, "summary": []}
        part = {**base, "summary_index": 0}
        middle = [
            {
                "type": "response.reasoning_summary_part.added",
                **part,
                "part": {"type": "summary_text", "text": ""},
            },
            {"type": "response.reasoning_summary_text.delta", **part, "delta": text},
            {"type": "response.reasoning_summary_text.done", **part, "text": text},
            {
                "type": "response.reasoning_summary_part.done",
                **part,
                "part": {"type": "summary_text", "text": text},
            },
        ]
    elif kind == "function_call":
        started = {**item, "arguments": "", "status": "in_progress"}
        middle = [
            {"type": "response.function_call_arguments.delta", **base, "delta": item["arguments"]},
            {
                "type": "response.function_call_arguments.done",
                **base,
                "arguments": item["arguments"],
            },
        ]
    else:
        text = item["content"][0]["text"]
        started = {**item, "status": "in_progress", "content": []}
        part = {**base, "content_index": 0}
        empty = {"type": "output_text", "text": "", "annotations": []}
        middle = [
            {"type": "response.content_part.added", **part, "part": empty},
            {"type": "response.output_text.delta", **part, "delta": text},
            {"type": "response.output_text.done", **part, "text": text},
            {"type": "response.content_part.done", **part, "part": item["content"][0]},
        ]
    return [
        {"type": "response.output_item.added", "output_index": index, "item": started},
        *middle,
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def sse(event: dict[str, Any]) -> bytes:
    """One SSE frame: event line, data line, blank line."""
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


# --------------------------------------------------------------------------------------------
# HTTP.


class Handler(BaseHTTPRequestHandler):
    """Routes requests; the shared State is on the server object."""

    protocol_version = "HTTP/1.1"
    server: MockServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silences the default stderr access log (the JSONL log replaces it)."""

    def read_body(self) -> tuple[dict[str, Any], Any]:
        """Reads and decodes the body; returns (log fields, parsed JSON or None)."""
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fields: dict[str, Any] = {}
        if "zstd" in (self.headers.get("Content-Encoding") or "").lower():
            try:
                raw = decode_zstd(raw)
            except ValueError as err:
                return {
                    "body_zstd_base64": base64.b64encode(raw).decode(),
                    "body_error": str(err),
                }, None
        if not raw:
            return fields, None
        try:
            parsed = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return {"body_text": raw.decode("utf-8", errors="replace")}, None
        return {"body": parsed}, parsed

    def entry(self, extra: dict[str, Any]) -> dict[str, Any]:
        return {
            "time": time.time(),
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            **extra,
        }

    def send_plain(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.server.state.log_request(self.entry({}))
        if self.path.split("?")[0].endswith("/plugins/featured"):
            self.send_plain(200, b"[]")
        else:
            self.send_plain(404, b'{"error":{"type":"not_found","message":"mock: no such route"}}')

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        state = self.server.state
        fields, body = self.read_body()
        path = self.path.split("?")[0]
        if path == "/_mock/invocation":
            state.invocation = fields.get("body_text", str(body)).strip()
            state.log_request(self.entry(fields))
            self.send_plain(200, b"{}")
        elif path.endswith("/responses") and isinstance(body, dict):
            self.respond(state, fields, body)
        elif path in ("/v1/logs", "/v1/traces", "/v1/metrics"):
            state.log_request(self.entry(fields))
            self.send_plain(200, b"{}")
        else:
            state.log_request(self.entry(fields))
            self.send_plain(404, b'{"error":{"type":"not_found","message":"mock: no such route"}}')

    def respond(self, state: State, fields: dict[str, Any], body: dict[str, Any]) -> None:
        """Answers one /responses request with the scripted SSE stream."""
        headers = {k.lower(): v for k, v in self.headers.items()}
        turn = Turn.from_request(body, headers)
        name, reply = choose(state, turn)
        state.log_request(self.entry({**fields, "script": name, "step": len(turn.outputs())}))
        if reply.error:
            self.send_plain(400, json.dumps(SCRIPTED_ERROR).encode())
            return
        model = str(body.get("model", "mock-model"))
        resp = {
            "id": state.new_id("resp"),
            "object": "response",
            "created_at": int(time.time()),
            "model": model,
            "status": "in_progress",
            "output": [],
        }
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            self.wfile.write(sse({"type": "response.created", "response": resp}))
            self.wfile.flush()
            if reply.hang:
                self.keep_alive()
                return
            frames = [sse({"type": "response.in_progress", "response": resp})]
            for index, item in enumerate(reply.items):
                frames.extend(sse(e) for e in item_events(index, item))
            numbers = usage(len(body.get("input", [])), reply)
            done = {**resp, "status": "completed", "output": reply.items, "usage": numbers}
            frames.append(sse({"type": "response.completed", "response": done}))
            self.wfile.write(b"".join(frames))
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return
        state.record_call(ground_truth(resp["id"], model, turn.meta, numbers))

    def keep_alive(self) -> None:
        """Sends SSE comments until the client disconnects or the hang limit passes."""
        deadline = time.monotonic() + HANG_LIMIT_SECONDS
        while time.monotonic() < deadline and not self.server.stopping.is_set():
            self.wfile.write(b": keep-alive\n\n")
            self.wfile.flush()
            self.server.stopping.wait(KEEP_ALIVE_SECONDS)


def ground_truth(
    response_id: str, model: str, meta: dict[str, Any], numbers: dict[str, Any]
) -> dict[str, Any]:
    """One model-calls.json entry (``invocation`` is added by State.record_call)."""
    return {
        "response_id": response_id,
        "thread_id": meta.get("thread_id"),
        "turn_id": meta.get("turn_id"),
        "thread_source": meta.get("thread_source"),
        "request_kind": meta.get("request_kind"),
        "model": model,
        "input_tokens": numbers["input_tokens"],
        "cached_tokens": numbers["input_tokens_details"]["cached_tokens"],
        "output_tokens": numbers["output_tokens"],
        "reasoning_tokens": numbers["output_tokens_details"]["reasoning_tokens"],
        "total_tokens": numbers["total_tokens"],
    }


class MockServer(ThreadingHTTPServer):
    """The HTTP server plus the shared state and a stop flag."""

    daemon_threads = True

    def __init__(self, state: State) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = state
        self.stopping = threading.Event()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port-file", required=True, help="where to publish the port (atomic rename)"
    )
    parser.add_argument("--requests-log", required=True, help="JSONL log of every request")
    parser.add_argument(
        "--model-calls", required=True, help="ground-truth JSON array of model calls"
    )
    args = parser.parse_args()
    for path in (args.requests_log,):
        open(path, "a", encoding="utf-8").close()
    write_atomic(args.model_calls, "[]\n")
    server = MockServer(State(args.requests_log, args.model_calls))

    def stop(_signum: int, _frame: Any) -> None:
        server.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    write_atomic(args.port_file, f"{server.server_address[1]}\n")
    server.serve_forever(poll_interval=0.1)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
