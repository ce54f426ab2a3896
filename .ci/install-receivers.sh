#!/usr/bin/env bash
# install-receivers.sh: installs the real OpenTelemetry components the integration tests run.
#
# Contract:
# - Creates one virtual environment per component under `<repo>/.work/venvs/` (gitignored),
#   each from its fully pinned lock in `tests/receivers/requirements/<name>.txt`:
#     rotel    the rotel collector (PyPI `rotel==0.0.1a15`, a Rust binary inside the wheel),
#              linked as `<repo>/.work/bin/rotel-agent`;
#     sink     the header-checking OTLP receiver's packages (`opentelemetry-proto`, `grpcio`);
#     phoenix  Arize Phoenix (`arize-phoenix==20.26.1`), the real LLM-tracing backend.
# - Idempotent: a venv whose `.installed` stamp equals its lock file's hash is left alone; a
#   venv with a stale or missing stamp is rebuilt from scratch.
# - The rotel binary links `libpython3.11.so.1.0`; when the loader cannot find it, installs
#   Debian's `libpython3.11` (one `apt-get update` first).
# - `PYTHON` picks the interpreter (default `python3`, which must be CPython 3.10 to 3.13).
# - Arguments name the components to install (default: all three). Progress and per-component
#   timings go to stderr; nothing reads stdin.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venvs="$repo_root/.work/venvs"
bin_dir="$repo_root/.work/bin"
locks="$repo_root/tests/receivers/requirements"
python="${PYTHON:-python3}"

log() { echo "install-receivers: $*" >&2; }

lock_hash() { sha256sum "$locks/$1.txt" | cut -d' ' -f1; }

is_installed() {
  local venv="$venvs/$1"
  [ -x "$venv/bin/python" ] && [ -f "$venv/.installed" ] &&
    [ "$(cat "$venv/.installed")" = "$(lock_hash "$1")" ]
}

install_venv() {
  local name="$1" venv="$venvs/$1" started
  if is_installed "$name"; then
    log "$name: already installed"
    return
  fi
  started=$(date +%s)
  log "$name: creating $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --requirement "$locks/$name.txt" </dev/null >&2
  lock_hash "$name" >"$venv/.installed"
  log "$name: installed in $(($(date +%s) - started)) s"
}

ensure_libpython() {
  local agent="$1"
  if ldd "$agent" | grep -q 'not found'; then
    log "rotel-agent misses shared libraries; installing libpython3.11"
    apt-get update -qq </dev/null >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpython3.11 </dev/null >&2
  fi
}

install_rotel() {
  install_venv rotel
  local pkg agent
  pkg="$("$venvs/rotel/bin/python" -c 'import os, rotel; print(os.path.dirname(rotel.__file__))')"
  agent="$pkg/rotel-agent"
  ensure_libpython "$agent"
  mkdir -p "$bin_dir"
  ln -sfn "$agent" "$bin_dir/rotel-agent"
  "$bin_dir/rotel-agent" --version >&2
}

main() {
  local components=("$@")
  if [ "${#components[@]}" -eq 0 ]; then
    components=(sink rotel phoenix)
  fi
  mkdir -p "$venvs"
  for component in "${components[@]}"; do
    case "$component" in
      rotel) install_rotel ;;
      sink | phoenix) install_venv "$component" ;;
      *)
        log "unknown component '$component' (expected sink, rotel or phoenix)"
        exit 2
        ;;
    esac
  done
}

main "$@"
