# Makefile: the entry points for building, testing, linting, installing and demoing codex-otel.
#
#   make build    debug build of every target
#   make test     install what the tests run, then run every test target (see below)
#   make lint     rustfmt check + clippy with warnings denied, on every target
#   make install  cargo install --path . (puts `codex-otel` and `codex-otel-hook` in ~/.cargo/bin)
#   make demo     replay a recorded real Codex session into .work/demo and draw its trace (built
#                 with the `demo` profile: release optimizations without the hook's fat LTO, about
#                 2 minutes on a fresh clone instead of 5; see the README's install section)
#   make npm      pack the npm packages from the release build into target/npm
#                 (scripts/build-npm.sh; the tests pack the debug build the same way)
#   make wheel    build the Python wheel (maturin bin mode, release profile) into target/wheels
#   make bench    release build + the newest pinned Codex CLI, then benches/bench.py: hook cost in real
#                 Codex, the hook process alone, daemon throughput and memory (a table on
#                 stdout, JSON in target/bench/summary.json; reports targets, never fails on
#                 them). Extra flags: make bench BENCH_ARGS="--only hook --hook-runs 2000"
#
# `make test` first runs .ci/install-receivers.sh (rotel, Arize Phoenix and the OTLP sink's
# packages, in venvs under .work/; a no-op when they are current) and .ci/install-codex.sh three
# times (the pinned Codex CLIs under .work/codex-<version>: 0.171.0, passed to the tests as
# CODEX_BIN and run by every live scenario, 0.169.0, passed as CODEX_BIN_0169 and run by a smoke
# set, and 0.150.0, passed as CODEX_BIN_0150 and run by the plugin's whole-session test: the
# oldest release whose plugin hooks run; one more npm package, one 2-second test) and
# scripts/install-maturin.sh (maturin, which builds the Python wheel, in a venv under
# .work/maturin; its path is passed as MATURIN_BIN). It then
# runs `cargo package`, which checks what crates.io would get by compiling the packaged crate
# (the suite lists it and packs it without compiling), then `cargo nextest run --all-targets`
# when cargo-nextest is installed, else `cargo test --all-targets` (last, so the test runner's
# summary closes the output). nextest runs each test in its own process, so a test that starts
# real servers cannot leave state behind for another, and it reports slow tests. Set
# CODEX_OTEL_REQUIRE_RECEIVERS=1 (as .ci/run does) to make a missing receiver a failure
# instead of a printed skip.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
DEMO_HOME := .work/demo
DEMO_SCENARIO := tests/fixtures/codex-0.169/subagent

.PHONY: build test lint install demo npm wheel receivers bench

build:
	$(CARGO) build --all-targets

receivers:
	bash .ci/install-receivers.sh </dev/null

test: receivers
	export CODEX_BIN="$$(bash .ci/install-codex.sh </dev/null)"; \
	export CODEX_BIN_0169="$$(CODEX_VERSION=0.169.0 bash .ci/install-codex.sh </dev/null)"; \
	export CODEX_BIN_0150="$$(CODEX_VERSION=0.150.0 bash .ci/install-codex.sh </dev/null)"; \
	maturin_bin="$$(bash scripts/install-maturin.sh </dev/null)"; \
	export MATURIN_BIN="$$maturin_bin"; \
	$(CARGO) package --locked --allow-dirty; \
	if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --all-targets --no-fail-fast; \
	else \
		$(CARGO) test --all-targets --no-fail-fast; \
	fi

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --document-private-items

install:
	$(CARGO) install --path .

demo:
	$(CARGO) build --profile demo --bin codex-otel
	rm -rf $(DEMO_HOME)
	CODEX_OTEL_HOME=$(DEMO_HOME) ./target/demo/codex-otel replay \
		$(DEMO_SCENARIO)/hooks.ndjson --transcripts $(DEMO_SCENARIO)/rollouts
	CODEX_OTEL_HOME=$(DEMO_HOME) ./target/demo/codex-otel show --last

npm:
	$(CARGO) build --release
	bash scripts/build-npm.sh target/release target/npm

wheel:
	"$$(bash scripts/install-maturin.sh </dev/null)" build --release --out target/wheels

bench:
	$(CARGO) build --release
	codex_bin="$$(bash .ci/install-codex.sh </dev/null)"; \
	python3 benches/bench.py --binary target/release/codex-otel --codex "$$codex_bin" $(BENCH_ARGS)
