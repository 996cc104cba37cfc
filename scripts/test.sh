#!/usr/bin/env bash
# The one command that sets up and runs every test: formatting, lints, the backends the
# conformance suite runs against (installed if missing), and the whole workspace's tests, with
# KV_TEST_MODE=required so that a backend that is not reachable fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

export KV_TEST_MODE="${KV_TEST_MODE:-required}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

source scripts/lib/common.sh
source scripts/lib/postgres.sh
source scripts/lib/dynamodb.sh
source scripts/lib/cosmos.sh

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

# Backends: each launcher starts its server on a free port, exports its KV_TEST_* endpoint and
# registers its shutdown (by PID) for when this script exits, even on failure.
if [ "$KV_TEST_MODE" != skipped ]; then
  step "starting PostgreSQL"
  start_postgres
  step "starting DynamoDB Local and moto"
  start_dynamodb_local
  start_moto
  step "starting the Cosmos DB emulator"
  start_cosmos_emulator
fi

step "cargo test (KV_TEST_MODE=$KV_TEST_MODE)"
cargo test --workspace
