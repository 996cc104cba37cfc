# DynamoDB emulators for the tests, each on a free port, stopped by PID at exit:
# - DynamoDB Local (AWS's own, from Maven Central; pinned in scripts/dynamodb-local/pom.xml),
#   exports KV_TEST_DYNAMODB_URL;
# - moto's server (a second, independent implementation; pinned below), exports
#   KV_TEST_DYNAMODB_MOTO_URL.

METAKV_MOTO_VERSION=5.2.5

# Resolves the jars into scripts/dynamodb-local/target/dependency and the native library into
# target/native (also the build context of docker/test-dynamodb.Dockerfile).
resolve_dynamodb_local() {
  local home=scripts/dynamodb-local
  if ! ls "$home"/target/dependency/DynamoDBLocal-*.jar >/dev/null 2>&1; then
    log "resolving DynamoDB Local from Maven Central"
    mvn -q -B -f "$home/pom.xml" dependency:copy-dependencies -DoutputDirectory=target/dependency
  fi
  # sqlite4java looks for the library under its plain name; Maven stores it with a version.
  mkdir -p "$home/target/native"
  cp "$home"/target/dependency/libsqlite4java-linux-amd64-*.so "$home/target/native/libsqlite4java-linux-amd64.so"
}

start_dynamodb_local() {
  local home=scripts/dynamodb-local
  resolve_dynamodb_local
  local port
  port=$(free_port)
  log "starting DynamoDB Local on port $port"
  java -Xmx512m -Djava.library.path="$home/target/native" -Dsqlite4java.library.path="$home/target/native" \
    -cp "$home/target/dependency/*" software.amazon.dynamodb.services.local.main.ServerRunner \
    -inMemory -port "$port" >"${TMPDIR:-/tmp}/metakv-dynamodb-local.log" 2>&1 &
  local pid=$!
  on_exit "stop_pid $pid"
  wait_port "$port" 90 "$pid" || { tail -n 20 "${TMPDIR:-/tmp}/metakv-dynamodb-local.log" >&2; return 1; }
  export KV_TEST_DYNAMODB_URL="http://127.0.0.1:$port"
}

start_moto() {
  local venv=.tools/moto
  if [ ! -x "$venv/bin/moto_server" ] || ! "$venv/bin/pip" show moto 2>/dev/null | grep -q "^Version: $METAKV_MOTO_VERSION\$"; then
    log "installing moto[server]==$METAKV_MOTO_VERSION into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "moto[server]==$METAKV_MOTO_VERSION"
  fi
  local port
  port=$(free_port)
  log "starting moto $METAKV_MOTO_VERSION on port $port"
  # scripts/moto/serve.py: moto's server, one request at a time (see there why).
  "$venv/bin/python" scripts/moto/serve.py 127.0.0.1 "$port" >"${TMPDIR:-/tmp}/metakv-moto.log" 2>&1 &
  local pid=$!
  on_exit "stop_pid $pid"
  wait_port "$port" 60 "$pid" || { tail -n 20 "${TMPDIR:-/tmp}/metakv-moto.log" >&2; return 1; }
  export KV_TEST_DYNAMODB_MOTO_URL="http://127.0.0.1:$port"
}
