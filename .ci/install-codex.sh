#!/usr/bin/env bash
# install-codex.sh: installs a pinned Codex CLI (npm @openai/codex) into a project-local prefix.
#
# Contract:
# - Installs `@openai/codex@$CODEX_VERSION` with npm into `$CODEX_PREFIX` (default
#   `<repo>/.work/codex-<version>`, gitignored); needs only node + npm and the npm registry.
#   The tests run three versions: 0.171.0, the default (`CODEX_BIN=$(.ci/install-codex.sh)`),
#   0.169.0 (`CODEX_BIN_0169=$(CODEX_VERSION=0.169.0 .ci/install-codex.sh)`) and 0.150.0
#   (`CODEX_BIN_0150=…`, the oldest release whose plugin hooks run), as `make test` does.
#   Older releases for captures go to any prefix: `CODEX_VERSION=0.125.0
#   CODEX_PREFIX=/tmp/codex-0.125.0 .ci/install-codex.sh`. Each version has its own prefix, so all
#   stay installed.
# - Idempotent: when `$CODEX_PREFIX/node_modules/.bin/codex --version` already prints
#   `codex-cli $CODEX_VERSION`, nothing is downloaded.
# - On success prints exactly one line on stdout: the absolute path of the `codex` binary
#   (suitable for `CODEX_BIN=$(.ci/install-codex.sh)`); progress goes to stderr.
# - Exits non-zero if the installed binary does not report the pinned version.
set -euo pipefail

version="${CODEX_VERSION:-0.171.0}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${CODEX_PREFIX:-$repo_root/.work/codex-$version}"
bin="$prefix/node_modules/.bin/codex"
want="codex-cli $version"

installed_version() {
  if [ -x "$bin" ]; then
    "$bin" --version 2>/dev/null </dev/null || true
  fi
}

if [ "$(installed_version)" != "$want" ]; then
  echo "installing @openai/codex@$version into $prefix" >&2
  mkdir -p "$prefix"
  # A private package.json keeps npm from walking up into the repository.
  if [ ! -f "$prefix/package.json" ]; then
    printf '{"name":"codex-otel-test-codex","private":true}\n' >"$prefix/package.json"
  fi
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error \
    "@openai/codex@$version" >&2
fi

got="$(installed_version)"
if [ "$got" != "$want" ]; then
  echo "install-codex.sh: expected '$want' from $bin, got '$got'" >&2
  exit 1
fi
echo "$bin"
