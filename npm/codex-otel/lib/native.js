// native.js: finds one of codex-otel's native binaries in the platform package npm installed for
// this machine, and runs it in place of the calling shim.
//
// Contract:
// - The platform package is `@codex-otel/<process.platform>-<process.arch>`, one of the
//   optionalDependencies of `codex-otel`; npm installs only the one whose `os`/`cpu` match. Its
//   binaries are `bin/<name>` (`bin/<name>.exe` on Windows), found with require.resolve, so
//   both a nested install (registry) and a sibling one (two tarballs installed together) work.
// - `run` starts the binary with the shim's arguments and stdio (the child reads stdin itself,
//   nothing is piped through node), forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT to it, and ends
//   with the child's exit code, or dies of the child's signal. When the binary cannot be
//   started it calls `failed` with a one-line reason (default: print it, exit 1).
// - `locate` returns `{ file }` or `{ problem }`, a one-line reason naming the fix.
"use strict";

const { spawn } = require("child_process");

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];

function locate(name) {
  const platform = `${process.platform}-${process.arch}`;
  const pkg = `@codex-otel/${platform}`;
  const file = process.platform === "win32" ? `${name}.exe` : name;
  try {
    return { file: require.resolve(`${pkg}/bin/${file}`) };
  } catch (error) {
    return {
      problem:
        `codex-otel: no ${name} binary for ${platform} (${pkg} is not installed): reinstall ` +
        "with `npm install -g codex-otel` without --omit=optional, or `cargo install codex-otel`",
    };
  }
}

function exitWith(reason) {
  process.stderr.write(`${reason}\n`);
  process.exit(1);
}

function run(file, args, failed = exitWith) {
  const child = spawn(file, args, { stdio: "inherit" });
  for (const signal of FORWARDED) {
    process.on(signal, () => child.kill(signal));
  }
  child.on("error", (error) => failed(`codex-otel: cannot run ${file}: ${error.message}`));
  child.on("exit", (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else {
      process.exit(code === null ? 1 : code);
    }
  });
}

module.exports = { locate, run };
