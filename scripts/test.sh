#!/usr/bin/env bash
# The one command that sets up and runs every test: formatting, lints, the backends the
# conformance suite runs against (installed if missing), and the whole workspace's tests, with
# KV_TEST_MODE=required so that a backend that is not reachable fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

export KV_TEST_MODE="${KV_TEST_MODE:-required}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Incremental caches would double target/ for a run that builds everything once.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

source scripts/lib/common.sh
source scripts/lib/postgres.sh
source scripts/lib/dynamodb.sh
source scripts/lib/cosmos.sh
source scripts/lib/containers.sh
source scripts/lib/helm.sh
source scripts/lib/kube.sh
source scripts/lib/schemathesis.sh

step() { printf '\n==> %s\n' "$*"; }

# A full run needs about 15 GB for target/ plus the container images; a disk that fills in the
# middle of a link fails with a linker "Bus error", so say it up front.
report_disk_space 15

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
  # A Docker API (podman) for the image tests and the testcontainers pass, with the emulator
  # images built locally (once per machine).
  step "starting the container engine and building the test images"
  start_container_engine
  build_test_images
  # A real API server for the chart's install test (kube-apiserver built once per machine).
  step "starting a Kubernetes API server"
  install_helm
  start_kube_apiserver
fi

step "cargo build (every target)"
cargo build --workspace --all-targets

step "the embedded-only build (--no-default-features --features local): it compiles, and names what it lacks"
cargo clippy -p metakv --no-default-features --features local --lib --bins -- -D warnings
cargo test -p metakv --no-default-features --features local --lib

step "the Helm chart (lint, render, validate, assertions; installed into the API server)"
install_helm
install_chart_test_tools
run_chart_tests

step "schemathesis against the server's OpenAPI (auth on, all checks)"
install_schemathesis
run_schemathesis target/debug/metakv

if [ "$KV_TEST_MODE" != skipped ]; then
  step "building the metakv image from the Dockerfile"
  build_metakv_image target/debug/metakv
fi

step "cargo test (KV_TEST_MODE=$KV_TEST_MODE)"
cargo test --workspace

# Each criterion benchmark once (test mode: no timing, nothing asserted), so that none rots.
step "the criterion benchmarks, once each"
cargo test -p metakv-benches --benches

if [ "$KV_TEST_MODE" != skipped ]; then
  # The laptop path: no KV_TEST_*_URL, so the harness starts each backend in a container with
  # testcontainers (from the images above) and removes it when the test binary exits.
  step "the conformance suite through testcontainers (no KV_TEST_*_URL)"
  # (--workspace: the same features as the build above, so nothing is compiled again; the
  # embedded, in-memory and HTTP suites run a second time too, in seconds.)
  env -u KV_TEST_POSTGRES_URL -u KV_TEST_DYNAMODB_URL -u KV_TEST_COSMOS_URL \
    cargo test --workspace --test conformance
  step "checking that no test container is left"
  check_no_test_containers
fi

step "done: target/ holds $(du -sh target 2>/dev/null | cut -f1)"
