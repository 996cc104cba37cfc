# A Docker-compatible engine for the tests, and the images they run.
#
# These machines have no Docker engine and reach no container registry. This starts Debian's
# podman (with runc and the cgroupfs manager, see ../shared/EMULATORS.md) serving the Docker
# Engine API on a socket under a temporary directory, exports DOCKER_HOST (testcontainers and the
# docker CLI read it), and builds every image the tests use from Debian's packages:
#
#   localhost/metakv-base:<suite>            debootstrap --variant=minbase of the host's release
#   localhost/metakv-runtime-base:<suite>    a distroless-like runtime: libc, CA certificates,
#                                            user 65532 (docker/runtime-base.Dockerfile)
#   localhost/metakv-test-postgres:<tag>     PostgreSQL (docker/test-postgres.Dockerfile)
#   localhost/metakv-test-dynamodb:<tag>     DynamoDB Local + a JRE (docker/test-dynamodb.Dockerfile)
#   localhost/metakv-test-cosmos:<tag>       the patched Cosmos emulator + Node (docker/test-cosmos.Dockerfile)
#   localhost/metakv:test                    the project's Dockerfile, with the binary cargo built
#
# Images are kept in podman's storage on the machine: each is rebuilt only when its tag (a hash
# of the files it is built from) is missing. Every container the tests start carries the label
# dev.metakv.test; at exit they are all removed and the service is stopped by PID.

METAKV_TEST_LABEL=dev.metakv.test
METAKV_SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")

# The podman the script runs, with the machine's configuration.
pm() { podman "$@"; }

install_container_tools() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]} (Debian packages)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Containers the tests started (running or not).
test_containers() {
  pm ps -a -q --filter "label=$METAKV_TEST_LABEL" 2>/dev/null
}

remove_test_containers() {
  local ids
  ids=$(test_containers)
  [ -z "$ids" ] || pm rm -f -v $ids >/dev/null 2>&1 || true
}

start_container_engine() {
  install_container_tools
  local dir
  dir=$(mktemp -d /tmp/metakv-podman.XXXXXX)
  cat >"$dir/containers.conf" <<'EOF'
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
EOF
  export CONTAINERS_CONF="$dir/containers.conf"
  log "starting podman $(podman version --format '{{.Client.Version}}') as a Docker API on $dir/podman.sock"
  podman system service --time=0 "unix://$dir/podman.sock" >"$dir/service.log" 2>&1 &
  local pid=$!
  # Last registered runs first: containers go before the service that runs them.
  on_exit "stop_pid $pid; rm -rf '$dir'"
  on_exit "remove_test_containers"
  local deadline=$((SECONDS + 30))
  until [ -S "$dir/podman.sock" ] && curl -sf --unix-socket "$dir/podman.sock" http://d/_ping >/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      cat "$dir/service.log" >&2
      echo "the podman service did not start" >&2
      return 1
    fi
    sleep 0.2
  done
  export DOCKER_HOST="unix://$dir/podman.sock"
}

# Fails when a container the tests started is still there, after giving the tests' reapers
# (which remove a test binary's containers once it exits) a few seconds.
check_no_test_containers() {
  local deadline=$((SECONDS + 30)) left
  while left=$(test_containers) && [ -n "$left" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "containers left behind by the tests:" >&2
      pm ps -a --filter "label=$METAKV_TEST_LABEL" >&2
      remove_test_containers
      return 1
    fi
    sleep 0.5
  done
  log "no test container is left"
}

# A tag for an image: a hash of the files it is built from.
content_tag() {
  cat "$@" | sha256sum | cut -c1-16
}

image_exists() { pm image exists "$1"; }

build_base_image() {
  local tag="localhost/metakv-base:$METAKV_SUITE"
  image_exists "$tag" && return 0
  local root
  root=$(mktemp -d /tmp/metakv-rootfs.XXXXXX)
  log "debootstrap --variant=minbase $METAKV_SUITE (once per machine)"
  debootstrap --variant=minbase "$METAKV_SUITE" "$root" >"$root.log" 2>&1 \
    || { tail -n 20 "$root.log" >&2; rm -rf "$root" "$root.log"; return 1; }
  tar -C "$root" -c . | pm import -q - "$tag" >/dev/null
  rm -rf "$root" "$root.log"
}

# build_image NAME DOCKERFILE CONTEXT [extra files hashed into the tag...] [-- build args...]
build_image() {
  local name=$1 dockerfile=$2 context=$3
  shift 3
  local hashed=("$dockerfile") args=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do hashed+=("$1"); shift; done
  [ "${1:-}" = -- ] && shift
  args=("$@")
  local tag
  tag="$name:$(content_tag "${hashed[@]}")"
  if ! image_exists "$tag"; then
    log "building $tag"
    pm build --network=host -q -f "$dockerfile" -t "$tag" \
      --build-arg "BASE_IMAGE=localhost/metakv-base:$METAKV_SUITE" "${args[@]}" "$context" >/dev/null
  fi
  echo "$tag"
}

# The emulator images the conformance suite starts through testcontainers; exports the
# KV_TEST_*_IMAGE variables that name them.
build_test_images() {
  build_base_image
  resolve_dynamodb_local
  install_cosmos_emulator
  local dyn=scripts/dynamodb-local cos=scripts/cosmos-emulator
  export KV_TEST_POSTGRES_IMAGE KV_TEST_DYNAMODB_IMAGE KV_TEST_COSMOS_IMAGE
  KV_TEST_POSTGRES_IMAGE=$(build_image localhost/metakv-test-postgres docker/test-postgres.Dockerfile docker \
    docker/test-postgres-entrypoint.sh)
  KV_TEST_DYNAMODB_IMAGE=$(build_image localhost/metakv-test-dynamodb docker/test-dynamodb.Dockerfile "$dyn/target" \
    "$dyn/pom.xml")
  KV_TEST_COSMOS_IMAGE=$(build_image localhost/metakv-test-cosmos docker/test-cosmos.Dockerfile "$cos" \
    "$cos/package-lock.json" "$cos/launch.js")
}

# The project's image, from the Dockerfile at the root, with the binary that cargo built here
# (no Rust builder image can be pulled on these machines); exports METAKV_TEST_IMAGE.
build_metakv_image() {
  local binary=$1
  build_base_image
  local runtime
  runtime=$(build_image localhost/metakv-runtime-base docker/runtime-base.Dockerfile docker)
  mkdir -p target/image/data
  # Debug information is not needed in the image.
  objcopy --strip-debug "$binary" target/image/metakv
  log "building localhost/metakv:test from the Dockerfile (binary $binary)"
  pm build -q -f Dockerfile -t localhost/metakv:test \
    --build-arg BINARY=context --build-arg "RUNTIME_IMAGE=$runtime" . >/dev/null
  export METAKV_TEST_IMAGE=localhost/metakv:test
  log "image localhost/metakv:test: $(pm image inspect --format '{{.Size}}' localhost/metakv:test | numfmt --to=iec) (binary $(du -h target/image/metakv | cut -f1))"
}
