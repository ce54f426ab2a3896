#!/usr/bin/env node
// codex-otel: runs the native `codex-otel` of this machine's platform package (see
// ../lib/native.js) with the same arguments, stdio, exit code and signals.
"use strict";

const native = require("../lib/native.js");

const found = native.locate("codex-otel");
if (found.problem) {
  process.stderr.write(`${found.problem}\n`);
  process.exit(1);
}
native.run(found.file, process.argv.slice(2));
