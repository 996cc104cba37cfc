#!/usr/bin/env bash
# The one command that sets up and runs every test: formatting, lints, and the whole workspace's
# tests, with KV_TEST_MODE=required so that a backend that is not reachable fails instead of
# skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

export KV_TEST_MODE="${KV_TEST_MODE:-required}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test (KV_TEST_MODE=$KV_TEST_MODE)"
cargo test --workspace
