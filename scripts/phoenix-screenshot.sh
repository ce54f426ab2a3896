#!/usr/bin/env bash
# Regenerates docs/phoenix-trace.png: starts a throwaway Arize Phoenix on loopback, replays a
# recorded Codex session into it with `codex-otel replay`, and screenshots the trace view with
# headless Chromium (Debian: apt-get install -y chromium).
#
# Usage: scripts/phoenix-screenshot.sh [scenario] [output.png]
#   scenario: a directory under tests/fixtures/codex-0.169 (default: subagent), or
#   `codex-<version>/<scenario>` for another release's recording (e.g. codex-0.171/skill)
# Environment: PHOENIX_PYTHON (Phoenix's Python, default .work/venvs/phoenix/bin/python),
#   CODEX_OTEL (default target/debug/codex-otel, built if missing), CHROMIUM (default chromium).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
scenario=${1:-subagent}
out=${2:-$repo/docs/phoenix-trace.png}
python=${PHOENIX_PYTHON:-$repo/.work/venvs/phoenix/bin/python}
chromium=${CHROMIUM:-chromium}
codex_otel=${CODEX_OTEL:-$repo/target/debug/codex-otel}
case $scenario in
*/*) fixture=$repo/tests/fixtures/$scenario ;;
*) fixture=$repo/tests/fixtures/codex-0.169/$scenario ;;
esac
project=codex

[ -x "$codex_otel" ] || (cd "$repo" && cargo build --bin codex-otel)
work=$(mktemp -d)
phoenix_pid=
cleanup() {
    [ -n "$phoenix_pid" ] && kill "$phoenix_pid" 2>/dev/null && wait "$phoenix_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

read -r http_port grpc_port < <("$python" -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')

(cd "$work" && PHOENIX_HOST=127.0.0.1 PHOENIX_PORT=$http_port PHOENIX_GRPC_PORT=$grpc_port \
    PHOENIX_WORKING_DIR=$work/phoenix PHOENIX_TELEMETRY_ENABLED=false \
    PHOENIX_ALLOW_EXTERNAL_RESOURCES=false PHOENIX_DISABLE_AGENT_ASSISTANT=true \
    exec "$python" "$repo/tests/receivers/phoenix_loopback.py" >"$work/phoenix.log" 2>&1) &
phoenix_pid=$!
base=http://127.0.0.1:$http_port
for _ in $(seq 120); do
    curl -fs "$base/healthz" >/dev/null && break
    sleep 1
done
curl -fs "$base/healthz" >/dev/null || { cat "$work/phoenix.log"; exit 1; }

HOME=$work/home CODEX_HOME=$work/home/.codex \
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=$base/v1/traces \
    OTEL_RESOURCE_ATTRIBUTES=openinference.project.name=$project \
    "$codex_otel" replay --transcripts "$fixture/rollouts" "$fixture/hooks.ndjson"

trace_id=
for _ in $(seq 30); do
    trace_id=$(curl -fs "$base/v1/projects/$project/spans?limit=1" \
        | "$python" -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["context"]["trace_id"])' \
        2>/dev/null) && break
    sleep 1
done
project_id=$(curl -fs "$base/v1/projects" | "$python" -c '
import json, sys
print(next(p["id"] for p in json.load(sys.stdin)["data"] if p["name"] == sys.argv[1]))' "$project")

mkdir -p "$(dirname "$out")"
"$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
    --user-data-dir="$work/chromium" --window-size=1600,1000 --virtual-time-budget=20000 \
    --screenshot="$out" "$base/projects/$project_id/traces/$trace_id" 2>"$work/chromium.log" \
    || { cat "$work/chromium.log"; exit 1; }
echo "wrote $out (trace $trace_id)"
