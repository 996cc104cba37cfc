# The Cosmos DB emulator for the tests: @vercel/cosmosdb-server (pinned, with its whole tree,
# in scripts/cosmos-emulator/package-lock.json; installed with `npm ci`), started through
# scripts/cosmos-emulator/launch.js, which patches the server where it differs from the real
# service. Listens on a free port, stopped by PID at exit; exports KV_TEST_COSMOS_URL.

install_cosmos_emulator() {
  local home=scripts/cosmos-emulator
  # Installed once per lock file: the stamp is the lock file that node_modules was built from.
  if ! cmp -s "$home/package-lock.json" "$home/node_modules/.metakv-installed-lock"; then
    log "installing the Cosmos DB emulator (npm ci)"
    (cd "$home" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$home/package-lock.json" "$home/node_modules/.metakv-installed-lock"
  fi
}

start_cosmos_emulator() {
  local home=scripts/cosmos-emulator
  install_cosmos_emulator
  local port
  port=$(free_port)
  log "starting the Cosmos DB emulator on port $port"
  node "$home/launch.js" "$port" 127.0.0.1 >"${TMPDIR:-/tmp}/metakv-cosmos-emulator.log" 2>&1 &
  local pid=$!
  on_exit "stop_pid $pid"
  wait_port "$port" 30 "$pid" || { tail -n 20 "${TMPDIR:-/tmp}/metakv-cosmos-emulator.log" >&2; return 1; }
  export KV_TEST_COSMOS_URL="https://127.0.0.1:$port/"
}
