# A real Kubernetes API server for the chart's install test: kube-apiserver built from the Go
# module proxy (k8s.io/kubernetes, pinned below; built once per machine and cached outside the
# clone) on Debian's etcd-server, with a static admin token. Nothing schedules pods there (no
# controller manager, no kubelet): the API server's own validation of every object, custom
# resources included, and Helm's hook order are what it proves. Stopped by PID at exit.

METAKV_CACHE=${METAKV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metakv}
METAKV_KUBE_VERSION=1.34.4

# Exports KUBE_APISERVER_BIN.
build_kube_apiserver() {
  local bin="$METAKV_CACHE/kube-apiserver-v$METAKV_KUBE_VERSION"
  if [ ! -x "$bin" ] || [ "$("$bin" --version 2>/dev/null)" != "Kubernetes v$METAKV_KUBE_VERSION" ]; then
    log "building kube-apiserver v$METAKV_KUBE_VERSION from the Go module proxy (once per machine, ~6 min)"
    local src dir
    src=$(go mod download -json "k8s.io/kubernetes@v$METAKV_KUBE_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
    dir=$(mktemp -d /tmp/metakv-k8s.XXXXXX)
    cp -r "$src/." "$dir/"
    chmod -R u+w "$dir"
    rm -f "$dir/go.work" "$dir/go.work.sum"
    # The staging modules are published under their own names at v0.<minor>.<patch>; the
    # module archive leaves out staging/ (nested modules), so its replace lines go too.
    sed -i -E -e "s#^(\s+k8s\.io/[a-z0-9-]+) v0\.0\.0\$#\1 v0.${METAKV_KUBE_VERSION#1.}#" \
      -e '\#=> \./staging/#d' "$dir/go.mod"
    # The version it reports (Helm checks the chart's kubeVersion against it); a build outside
    # Kubernetes' own scripts would say v0.0.0-master.
    local v=k8s.io/component-base/version minor=${METAKV_KUBE_VERSION#1.}
    (cd "$dir" && GOWORK=off GOFLAGS=-mod=mod go build -o "$bin.tmp" \
      -ldflags "-X $v.gitVersion=v$METAKV_KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=${minor%%.*} -X $v.gitTreeState=clean" \
      ./cmd/kube-apiserver) \
      || { rm -rf "$dir"; return 1; }
    mv "$bin.tmp" "$bin"
    rm -rf "$dir"
  fi
  export KUBE_APISERVER_BIN="$bin"
}

# Starts etcd and kube-apiserver on free ports; exports KUBECONFIG.
start_kube_apiserver() {
  build_kube_apiserver
  if ! command -v etcd >/dev/null; then
    log "installing etcd (Debian package etcd-server)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
  fi
  local dir etcd_port peer_port api_port token
  dir=$(mktemp -d /tmp/metakv-kube.XXXXXX)
  etcd_port=$(free_port)
  peer_port=$(free_port)
  api_port=$(free_port)
  token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  etcd --data-dir "$dir/etcd" --listen-client-urls "http://127.0.0.1:$etcd_port" \
    --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" >"$dir/etcd.log" 2>&1 &
  local etcd_pid=$!
  on_exit "stop_pid $etcd_pid"
  wait_port "$etcd_port" 30 "$etcd_pid" || { tail -n 20 "$dir/etcd.log" >&2; return 1; }
  openssl genrsa -out "$dir/sa.key" 2048 >/dev/null 2>&1
  printf '%s,admin,admin,system:masters\n' "$token" >"$dir/tokens.csv"
  "$KUBE_APISERVER_BIN" --etcd-servers "http://127.0.0.1:$etcd_port" --secure-port "$api_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --cert-dir "$dir/certs" \
    --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$dir/sa.key" --service-account-signing-key-file "$dir/sa.key" \
    --token-auth-file "$dir/tokens.csv" --authorization-mode RBAC \
    --service-cluster-ip-range 10.96.0.0/16 >"$dir/apiserver.log" 2>&1 &
  local api_pid=$!
  on_exit "stop_pid $api_pid; rm -rf '$dir'"
  cat >"$dir/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:$api_port
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: $token
contexts:
- name: test
  context: {cluster: test, user: admin, namespace: default}
current-context: test
KUBECONFIG
  export KUBECONFIG="$dir/kubeconfig"
  local deadline=$((SECONDS + 90))
  until "$KUBECTL" get --raw /readyz >/dev/null 2>&1; do
    if ! kill -0 "$api_pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$dir/apiserver.log" >&2
      echo "kube-apiserver did not become ready" >&2
      return 1
    fi
    sleep 0.5
  done
  log "kube-apiserver v$METAKV_KUBE_VERSION ready on 127.0.0.1:$api_port"
}
