"""otlp_sink.py: a header-checking OTLP trace receiver that records what arrived.

It stands in for Braintrust's OTLP endpoint in tests, built on `opentelemetry-proto` and
`grpcio` so that it shares no code with codex-otel's own exporter.

Contract:
- Listens on 127.0.0.1 only. HTTP: `POST <path>` (default `/v1/traces`) takes OTLP/HTTP
  protobuf (`application/x-protobuf`) or OTLP/JSON (`application/json`, whose hex `traceId`,
  `spanId` and `parentSpanId` are converted to the base64 protobuf's JSON mapping expects),
  with an optional `Content-Encoding: gzip` or `deflate`. gRPC (with `--grpc-port`):
  `TraceService/Export`, invocation metadata read as headers.
- `--require-header NAME` demands presence and `--require-header NAME=VALUE` an exact value
  (names are case-insensitive). A failed check answers 401 (gRPC: UNAUTHENTICATED); a bad body
  answers 400, an unknown content type 415, another path 404. Every POST is recorded, with
  `rejected` and a `reason` when it was refused, so tests can see what was sent either way.
- A record is `{transport, path, status, rejected, reason, content_type, content_encoding,
  headers, spans}`; a span is flattened with hex ids, enum names for kind and status code,
  typed attribute values (ints stay ints, arrays become lists, kvlists objects, bytes hex),
  events, its resource's attributes and its scope.
- `GET /_sink/requests` returns the records as a JSON list; `POST /_sink/reset` clears them;
  `--out FILE` also appends one JSON line per record.
- With port 0 the OS picks free ports; once both servers listen, `--port-file` receives
  `{"http": N, "grpc": N|null}`, written to a temporary name and renamed into place.
- Exits on SIGTERM, and by itself when its parent process goes away.
"""

import argparse
import base64
import gzip
import json
import os
import signal
import sys
import threading
import zlib
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1 import trace_pb2

PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf")
JSON_TYPE = "application/json"
ID_FIELDS = ("traceId", "spanId", "parentSpanId")
GRPC_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
PARENT_POLL_SECONDS = 0.5


class Recorder:
    """The records received so far, shared by the HTTP and gRPC threads."""

    def __init__(self, out_path):
        self._lock = threading.Lock()
        self._records = []
        self._out_path = out_path

    def add(self, record):
        with self._lock:
            self._records.append(record)
            if self._out_path:
                with open(self._out_path, "a", encoding="utf-8") as out:
                    out.write(json.dumps(record) + "\n")

    def snapshot(self):
        with self._lock:
            return list(self._records)

    def reset(self):
        with self._lock:
            self._records.clear()


class HeaderPolicy:
    """Required headers: by presence (`name`) or by exact value (`name=value`)."""

    def __init__(self, specs):
        self._rules = []
        for spec in specs:
            name, sep, value = spec.partition("=")
            self._rules.append((name.strip().lower(), value if sep else None))

    def violation(self, headers):
        """Why `headers` (lower-cased names) fail the policy, or None when they pass."""
        for name, value in self._rules:
            if name not in headers:
                return f"missing header {name}"
            if value is not None and headers[name] != value:
                return f"wrong value for header {name}"
        return None


def hex_ids_to_base64(node):
    """Rewrites OTLP/JSON hex ids in place into the base64 that protobuf's JSON parser wants."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ID_FIELDS and isinstance(value, str):
                node[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
            else:
                hex_ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            hex_ids_to_base64(item)


def decode_request(content_type, raw):
    """Parses an export body; raises ValueError (or DecodeError) when it is not one."""
    request = trace_service_pb2.ExportTraceServiceRequest()
    if content_type in PROTOBUF_TYPES:
        request.ParseFromString(raw)
    else:
        document = json.loads(raw)
        hex_ids_to_base64(document)
        json_format.ParseDict(document, request)
    return request


def decompress(encoding, raw):
    if encoding in ("", "identity"):
        return raw
    if encoding == "gzip":
        return gzip.decompress(raw)
    if encoding == "deflate":
        return zlib.decompress(raw)
    raise ValueError(f"unsupported content encoding {encoding}")


def any_value(value):
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind) if kind else None


def attributes(key_values):
    return {kv.key: any_value(kv.value) for kv in key_values}


def flatten_span(span, resource, scope):
    return {
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_span_id": span.parent_span_id.hex(),
        "name": span.name,
        "kind": trace_pb2.Span.SpanKind.Name(span.kind),
        "start_time_unix_nano": span.start_time_unix_nano,
        "end_time_unix_nano": span.end_time_unix_nano,
        "status": {
            "code": trace_pb2.Status.StatusCode.Name(span.status.code),
            "message": span.status.message,
        },
        "attributes": attributes(span.attributes),
        "events": [
            {
                "name": event.name,
                "time_unix_nano": event.time_unix_nano,
                "attributes": attributes(event.attributes),
            }
            for event in span.events
        ],
        "resource": resource,
        "scope": {"name": scope.name, "version": scope.version},
    }


def flatten(request):
    spans = []
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(flatten_span(span, resource, scope_spans.scope))
    return spans


class Sink:
    """Checks one export (HTTP or gRPC) against the policy and records it."""

    def __init__(self, recorder, policy, path):
        self.recorder = recorder
        self.policy = policy
        self.path = path

    def record(self, transport, path, headers, status, reason, request):
        self.recorder.add(
            {
                "transport": transport,
                "path": path,
                "status": status,
                "rejected": reason is not None,
                "reason": reason,
                "content_type": headers.get("content-type", ""),
                "content_encoding": headers.get("content-encoding", ""),
                "headers": headers,
                "spans": flatten(request) if request is not None else [],
            }
        )


class HttpHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    sink = None  # set on a subclass by serve_http

    def log_message(self, format, *args):
        sys.stderr.write("otlp_sink http: " + (format % args) + "\n")

    def reply(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def reply_json(self, status, document):
        self.reply(status, JSON_TYPE, json.dumps(document).encode("utf-8"))

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                chunk = self.rfile.read(size)
                self.rfile.readline()
                if size == 0:
                    return b"".join(chunks)
                chunks.append(chunk)
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_GET(self):
        if self.path == "/_sink/requests":
            self.reply_json(200, self.sink.recorder.snapshot())
        else:
            self.reply_json(404, {"error": "not found"})

    def do_POST(self):
        raw = self.read_body()
        if self.path == "/_sink/reset":
            self.sink.recorder.reset()
            self.reply_json(200, {})
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, reason, request = self.ingest(headers, raw)
        self.sink.record("http", self.path, headers, status, reason, request)
        if reason is not None:
            self.reply_json(status, {"error": reason})
        elif headers["content-type"].split(";")[0].strip() == JSON_TYPE:
            self.reply_json(200, {})
        else:
            body = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
            self.reply(200, PROTOBUF_TYPES[0], body)

    def ingest(self, headers, raw):
        """(status, rejection reason or None, parsed request or None) for one POST."""
        if self.path != self.sink.path:
            return 404, f"unknown path {self.path}", None
        headers.setdefault("content-type", "")
        content_type = headers["content-type"].split(";")[0].strip().lower()
        if content_type not in PROTOBUF_TYPES and content_type != JSON_TYPE:
            return 415, f"unsupported content type {content_type}", None
        try:
            body = decompress(headers.get("content-encoding", "").lower(), raw)
            request = decode_request(content_type, body)
        except (ValueError, DecodeError, json_format.ParseError, OSError, zlib.error) as err:
            return 400, f"malformed body: {err}", None
        reason = self.sink.policy.violation(headers)
        return (401 if reason else 200), reason, request


class TraceServicer(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, sink):
        self.sink = sink

    def Export(self, request, context):
        headers = {key.lower(): value for key, value in context.invocation_metadata()}
        reason = self.sink.policy.violation(headers)
        status = "UNAUTHENTICATED" if reason else "OK"
        self.sink.record("grpc", GRPC_PATH, headers, status, reason, request)
        if reason:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, reason)
        return trace_service_pb2.ExportTraceServiceResponse()


def serve_grpc(sink, port):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceServicer(sink), server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server, bound


def write_port_file(path, ports):
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as out:
        json.dump(ports, out)
    os.replace(temporary, path)


def exit_when_orphaned():
    parent = os.getppid()
    stop = threading.Event()
    while not stop.wait(PARENT_POLL_SECONDS):
        if os.getppid() != parent:
            os._exit(0)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="HTTP port; 0 picks a free one")
    parser.add_argument("--grpc-port", type=int, help="also serve gRPC on this port (0: free)")
    parser.add_argument("--path", default="/v1/traces", help="the traces path to accept")
    parser.add_argument("--require-header", action="append", default=[], metavar="NAME[=VALUE]")
    parser.add_argument("--port-file", help="where to write the bound ports as JSON")
    parser.add_argument("--out", help="also append each record to this JSONL file")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    sink = Sink(Recorder(args.out), HeaderPolicy(args.require_header), args.path)
    handler = type("BoundHandler", (HttpHandler,), {"sink": sink})
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    httpd.daemon_threads = True
    grpc_server, grpc_port = (None, None)
    if args.grpc_port is not None:
        grpc_server, grpc_port = serve_grpc(sink, args.grpc_port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    threading.Thread(target=exit_when_orphaned, daemon=True).start()
    ports = {"http": httpd.server_address[1], "grpc": grpc_port}
    if args.port_file:
        write_port_file(args.port_file, ports)
    sys.stderr.write(f"otlp_sink listening on {json.dumps(ports)}\n")
    try:
        httpd.serve_forever()
    finally:
        if grpc_server is not None:
            grpc_server.stop(0)
        httpd.server_close()


if __name__ == "__main__":
    main(sys.argv[1:])
