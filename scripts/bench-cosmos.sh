#!/usr/bin/env bash
# Starts the Cosmos DB emulator (as the tests do) and runs the driver-vs-raw-SDK benchmark on it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
source scripts/lib/cosmos.sh
start_cosmos_emulator
cargo run --release -q -p metakv-benches --bin cosmos -- "$@"
