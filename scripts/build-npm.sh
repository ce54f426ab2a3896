#!/usr/bin/env bash
# build-npm.sh: packs the npm packages of codex-otel from binaries that are already built.
#
# Usage: scripts/build-npm.sh BIN_DIR OUT_DIR [PLATFORM]
#   BIN_DIR   holds `codex-otel` and `codex-otel-hook` (`.exe` on Windows): target/release for
#             publishing (or target/<triple>/release); the tests pass target/debug.
#   OUT_DIR   receives the two tarballs (created if missing; the staging copies go in
#             OUT_DIR/stage and are replaced on each run).
#   PLATFORM  the platform package to fill, as npm names it (`<os>-<cpu>`: linux-x64,
#             linux-arm64, darwin-x64, darwin-arm64, win32-x64); default: this machine's.
#
# Contract:
# - The main package `codex-otel` is npm/codex-otel plus the Codex plugin (plugin/ and
#   .agents/plugins/marketplace.json, so `codex plugin marketplace add "$(npm root -g)/codex-otel"`
#   works after a global install). The platform package `@codex-otel/PLATFORM` is
#   npm/platforms/PLATFORM with the two binaries copied into its bin/.
# - The copies are stripped of symbols when they are this machine's binaries and `strip` is
#   installed (a debug build shrinks from hundreds of megabytes to tens).
# - Every package.json must carry the version of Cargo.toml; the script fails otherwise.
# - Compiles nothing and downloads nothing; needs bash, node and npm. On success prints the
#   paths of the two tarballs, main package first, one per line on stdout.
set -euo pipefail

if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then
  sed -n '3,10p' "$0" >&2
  exit 2
fi
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="$1"
mkdir -p "$2"
out="$(cd "$2" && pwd)"
host="$(node -p 'process.platform + "-" + process.arch')"
platform="${3:-$host}"
template="$repo/npm/platforms/$platform"
if [ ! -f "$template/package.json" ]; then
  echo "build-npm.sh: no platform package $platform in npm/platforms" >&2
  exit 1
fi
exe=""
if [ "${platform%%-*}" = win32 ]; then exe=".exe"; fi

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -n 1)"
for manifest in "$repo/npm/codex-otel/package.json" "$template/package.json"; do
  got="$(node -p 'require(process.argv[1]).version' "$manifest")"
  if [ "$got" != "$version" ]; then
    echo "build-npm.sh: $manifest has version $got, Cargo.toml $version" >&2
    exit 1
  fi
done

stage="$out/stage"
rm -rf "$stage"
mkdir -p "$stage/main/.agents/plugins" "$stage/platform/bin"

cp -R "$repo/npm/codex-otel/." "$stage/main/"
cp -R "$repo/plugin" "$stage/main/plugin"
cp "$repo/.agents/plugins/marketplace.json" "$stage/main/.agents/plugins/"

cp "$template/package.json" "$stage/platform/"
for name in codex-otel codex-otel-hook; do
  if [ ! -x "$bin_dir/$name$exe" ]; then
    echo "build-npm.sh: $bin_dir/$name$exe is missing or not executable" >&2
    exit 1
  fi
  cp "$bin_dir/$name$exe" "$stage/platform/bin/"
  if [ "$platform" = "$host" ] && command -v strip >/dev/null; then
    strip "$stage/platform/bin/$name$exe"
  fi
done

for package in main platform; do
  (cd "$stage/$package" && npm pack --silent --pack-destination "$out" | sed "s|^|$out/|")
done
