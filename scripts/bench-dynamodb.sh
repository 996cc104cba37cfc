#!/usr/bin/env bash
# Starts DynamoDB Local (as the tests do) and runs the driver-vs-raw-SDK benchmark on it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
source scripts/lib/dynamodb.sh
start_dynamodb_local
cargo run --release -q -p metakv-benches --bin dynamodb -- "$@"
