# schemathesis (PyPI, pinned by scripts/schemathesis/requirements.txt) against a running
# `metakv serve` with authentication on: every operation of its /openapi.json, all checks.

# Exports SCHEMATHESIS: the CLI, from a virtualenv made once per requirements file.
install_schemathesis() {
  local venv
  venv=$(python_venv scripts/schemathesis/requirements.txt schemathesis schemathesis)
  export SCHEMATHESIS="$venv/bin/schemathesis"
}

# Runs schemathesis against `$1 serve` (the in-memory store, a bearer token) with
# $SCHEMATHESIS_EXAMPLES examples per operation (default 200; a longer run: set it higher).
# Generation is ASCII without NUL bytes: a header value hyper cannot parse is answered by hyper
# itself (an empty 400, before the server sees the request), which the content-type check would
# report although the server never answered it (README, "HTTP API").
run_schemathesis() {
  local bin=$1 dir
  dir=$(mktemp -d)
  METAKV_DATABASE__TYPE=memory METAKV_SERVER__AUTH__TOKENS='[schemathesis-token]' RUST_LOG=error \
    "$bin" serve --listen 127.0.0.1:0 >"$dir/stdout" 2>"$dir/stderr" &
  local pid=$!
  on_exit "stop_pid $pid; rm -rf '$dir'"
  local base=""
  for _ in $(seq 1 100); do
    base=$(sed -n 's/^metakv listening on //p' "$dir/stdout")
    [ -n "$base" ] && break
    sleep 0.1
  done
  [ -n "$base" ] || { cat "$dir/stderr" >&2; return 1; }
  "$SCHEMATHESIS" run "$base/openapi.json" --experimental=openapi-3.1 --base-url "$base" \
    -H "Authorization: Bearer schemathesis-token" --checks all \
    --hypothesis-max-examples "${SCHEMATHESIS_EXAMPLES:-200}" --hypothesis-seed 1 \
    --generation-allow-x00 false --generation-codec ascii --no-color
  stop_pid "$pid"
}
