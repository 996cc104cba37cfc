# A throw-away PostgreSQL cluster for the tests: Debian's server binaries, initdb into a
# temporary directory, pg_ctl on a free port, as the unprivileged `postgres` user when run as
# root (PostgreSQL refuses to run as root). TLS is on, with a self-signed certificate for
# 127.0.0.1. Exports KV_TEST_POSTGRES_URL and KV_TEST_POSTGRES_CA; stopped at exit.

METAKV_PG_PASSWORD=metakv-test-password

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

start_postgres() {
  local bin
  bin=$(pg_bin)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    log "installing PostgreSQL (Debian package postgresql)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin=$(pg_bin)
  fi
  local dir port as=()
  dir=$(mktemp -d /tmp/metakv-pg.XXXXXX)
  port=$(free_port)
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$dir" postgres
    chown postgres "$dir"
    as=(runuser -u postgres --)
  fi
  # A test CA and a server certificate it signs (a self-signed server certificate would be a
  # CA used as an end entity, which verifying clients rightly refuse).
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=metakv-test-ca \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
    -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/server.ext" -out "$dir/server.crt" >/dev/null 2>&1
  chmod 600 "$dir/server.key"
  if [ "$(id -u)" = 0 ]; then chown postgres "$dir/server.key" "$dir/server.crt"; fi
  printf '%s\n' "$METAKV_PG_PASSWORD" > "$dir/pwfile"
  chmod 644 "$dir/pwfile"
  log "starting PostgreSQL ($("$bin/postgres" --version)) on port $port"
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U metakv --pwfile="$dir/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_stat_statements -c max_connections=200 -c fsync=off -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key" \
    >/dev/null || { cat "$dir/server.log" >&2; return 1; }
  local pid
  pid=$(head -n 1 "$dir/data/postmaster.pid")
  on_exit "stop_pid $pid; rm -rf '$dir'"
  "${as[@]}" "$bin/psql" -h "$dir" -p "$port" -U metakv -d postgres -q \
    -c "CREATE DATABASE metakv" >/dev/null
  "${as[@]}" "$bin/psql" -h "$dir" -p "$port" -U metakv -d metakv -q \
    -c "CREATE EXTENSION pg_stat_statements" >/dev/null
  export KV_TEST_POSTGRES_URL="postgres://metakv:$METAKV_PG_PASSWORD@127.0.0.1:$port/metakv"
  export KV_TEST_POSTGRES_CA="$dir/ca.crt"
}
