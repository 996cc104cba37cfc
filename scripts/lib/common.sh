# Shared helpers for the test scripts: free ports and cleanup on exit.
# Every started process is recorded with its PID and stopped by PID when the script exits,
# successfully or not.

METAKV_CLEANUP=()

# Registers a shell command to run at exit (last registered runs first).
on_exit() {
  METAKV_CLEANUP=("$1" "${METAKV_CLEANUP[@]}")
}

run_cleanup() {
  local status=$?
  for action in "${METAKV_CLEANUP[@]}"; do
    eval "$action" || true
  done
  return $status
}
trap run_cleanup EXIT
trap 'exit 130' INT TERM

# Prints a TCP port that is free on 127.0.0.1 right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Stops a process by PID: TERM, then KILL after a grace period.
stop_pid() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# Waits until a TCP port accepts connections; fails after $2 seconds, or at once when the
# process $3 (if given) has died.
wait_port() {
  local port=$1 timeout=${2:-60} pid=${3:-}
  local deadline=$((SECONDS + timeout))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      echo "process $pid exited before listening on port $port" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "nothing listens on port $port after ${timeout}s" >&2
  return 1
}

log() { printf '==> %s\n' "$*" >&2; }

# Prints the path of a virtualenv holding the packages of requirements file $1, made once per
# version of that file as $METAKV_CACHE/$2-venv-<hash>; $3 is an executable it must contain.
python_venv() {
  local req=$1 name=$2 exe=$3 venv
  venv="${METAKV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metakv}/$name-venv-$(sha256sum "$req" | cut -c1-12)"
  if [ ! -x "$venv/bin/$exe" ]; then
    log "installing $req into $venv"
    python3 -m venv "$venv" || return 1
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2 || return 1
  fi
  printf '%s\n' "$venv"
}

# report_disk_space GB: says how much room the disk holding target/ has, and warns when it is
# below GB (the build does not stop: it may still fit, but a full disk shows up later as a
# linker "Bus error" far from its cause).
report_disk_space() {
  local need_gb="$1" dir avail_kb
  dir="${CARGO_TARGET_DIR:-target}"
  mkdir -p "$dir"
  avail_kb="$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')"
  log "disk: $((avail_kb / 1024 / 1024)) GB free for $dir (a full run needs about ${need_gb} GB)"
  if [ "$avail_kb" -lt $((need_gb * 1024 * 1024)) ]; then
    log "WARNING: less than ${need_gb} GB free; the build may run out of disk (seen as a linker 'Bus error')"
  fi
}
