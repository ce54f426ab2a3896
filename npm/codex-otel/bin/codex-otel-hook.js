#!/usr/bin/env node
// codex-otel-hook: runs the native `codex-otel-hook` of this machine's platform package (see
// ../lib/native.js). Codex runs hooks on its critical path, so the plugin's launcher runs the
// native binary directly when it finds it and this shim (node start-up, ~40 ms) only otherwise.
//
// Like every codex-otel hook it prints nothing on stdout and exits 0. Without a native binary
// (or one that cannot start) it reads stdin to the end (Codex never writes into a closed pipe)
// and, when Codex passes the plugin's data directory ($PLUGIN_DATA), leaves the reason as the
// one line of $PLUGIN_DATA/launcher.log, which `codex-otel doctor` reports.
"use strict";

const fs = require("fs");
const path = require("path");
const native = require("../lib/native.js");

function drainAndLog(reason) {
  process.stdin.on("data", () => {});
  process.stdin.on("error", () => process.exit(0));
  process.stdin.on("end", () => {
    const data = process.env.PLUGIN_DATA;
    if (data) {
      try {
        fs.mkdirSync(data, { recursive: true });
        fs.writeFileSync(path.join(data, "launcher.log"), `${reason}\n`);
      } catch (error) {
        // A hook never fails Codex: an unwritable data directory loses only the reason.
      }
    }
    process.exit(0);
  });
}

const found = native.locate("codex-otel-hook");
if (found.file) {
  native.run(found.file, process.argv.slice(2), drainAndLog);
} else {
  drainAndLog(found.problem);
}
