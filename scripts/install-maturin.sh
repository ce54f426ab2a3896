#!/usr/bin/env bash
# install-maturin.sh: installs the pinned maturin (PyPI), which builds codex-otel's Python wheel,
# into a project-local venv.
#
# Contract:
# - Installs `maturin==$MATURIN_VERSION` (default 1.16.0) with pip into the venv
#   `$MATURIN_PREFIX` (default `<repo>/.work/maturin`, gitignored); needs python3 with venv.
# - Idempotent: when `$MATURIN_PREFIX/bin/maturin --version` already prints
#   `maturin $MATURIN_VERSION`, nothing is downloaded.
# - On success prints exactly one line on stdout: the absolute path of the `maturin` binary
#   (the tests read it from $MATURIN_BIN); progress goes to stderr. Exits non-zero when the
#   installed binary does not report the pinned version.
set -euo pipefail

version="${MATURIN_VERSION:-1.16.0}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${MATURIN_PREFIX:-$repo_root/.work/maturin}"
bin="$prefix/bin/maturin"
want="maturin $version"

installed_version() {
  if [ -x "$bin" ]; then
    "$bin" --version 2>/dev/null </dev/null || true
  fi
}

if [ "$(installed_version)" != "$want" ]; then
  echo "installing maturin==$version into $prefix" >&2
  python3 -m venv "$prefix" >&2
  "$prefix/bin/pip" install --quiet --disable-pip-version-check "maturin==$version" >&2
fi

got="$(installed_version)"
if [ "$got" != "$want" ]; then
  echo "install-maturin.sh: expected '$want' from $bin, got '$got'" >&2
  exit 1
fi
echo "$bin"
