#!/usr/bin/env bash
# metakv (embedded store) vs etcd over HTTP on this machine: starts both on free ports with
# fresh data directories, runs the benchmark, stops both by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

if ! command -v etcd >/dev/null; then
  log "installing etcd (Debian package etcd-server)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
fi
cargo build --release -q -p metakv -p metakv-benches

work=$(mktemp -d /tmp/metakv-bench.XXXXXX)
on_exit "rm -rf '$work'"

etcd_port=$(free_port); peer_port=$(free_port)
etcd --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$etcd_port" \
  --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "default=http://127.0.0.1:$peer_port" >"$work/etcd.log" 2>&1 &
etcd_pid=$!
on_exit "stop_pid $etcd_pid"

metakv_port=$(free_port)
METAKV_DATABASE__LOCAL__PATH="$work/metakv" RUST_LOG=warn \
  target/release/metakv serve --listen "127.0.0.1:$metakv_port" >"$work/metakv.log" 2>&1 &
metakv_pid=$!
on_exit "stop_pid $metakv_pid"

wait_port "$etcd_port"
wait_port "$metakv_port"
log "etcd $(etcd --version | head -n 1) on $etcd_port, metakv on $metakv_port"
target/release/http --metakv "http://127.0.0.1:$metakv_port" --etcd "http://127.0.0.1:$etcd_port" "$@"
