#!/usr/bin/env bash
# Starts a throw-away PostgreSQL (as the tests do) and runs the driver-vs-raw benchmark on it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
source scripts/lib/postgres.sh
start_postgres
cargo run --release -q -p metakv-benches --bin postgres -- "$@"
