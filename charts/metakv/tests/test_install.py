"""The chart installed into a real Kubernetes API server (scripts/lib/kube.sh starts one and
exports KUBECONFIG): CRDs made from the vendored ASO and ACK schemas, then `helm install` of
every example, `helm upgrade` with a configuration change, `helm uninstall`, and the objects the
server stored. Nothing schedules pods there: hook Jobs are marked complete by this test (as a
Job controller would once the pod succeeded), which is also where Helm's hook order shows.
"""

import json
import os
import pathlib
import subprocess
import threading
import time

import pytest
import yaml

from test_chart import CHART, CUSTOM_SCHEMAS, EXAMPLE_FILES, EXAMPLES, SCHEMAS, values_args

HELM = os.environ.get("HELM", "helm")
KUBECTL = os.environ.get("KUBECTL", "kubectl")


@pytest.fixture(scope="module", autouse=True)
def cluster():
    if not os.environ.get("KUBECONFIG"):
        if os.environ.get("KV_TEST_MODE") == "required":
            pytest.fail("KV_TEST_MODE=required: KUBECONFIG is not set (scripts/lib/kube.sh starts an API server)")
        pytest.skip("KUBECONFIG is not set")
    apply_crds()


def kubectl(*args, check=True, input=None):
    out = subprocess.run([KUBECTL, *args], capture_output=True, text=True, input=input)
    if check:
        assert out.returncode == 0, f"kubectl {' '.join(args)}: {out.stderr}"
    return out


def get(kind, name, namespace):
    out = kubectl("get", kind, name, "-n", namespace, "-o", "json", check=False)
    return json.loads(out.stdout) if out.returncode == 0 else None


def structural(schema):
    """A CRD's structural schema from a catalog schema: the catalog adds
    `additionalProperties: false` beside `properties`, which CRDs do not allow (the API server
    prunes unknown fields instead, and Helm's client-side validation rejects them)."""
    if isinstance(schema, dict):
        out = {k: structural(v) for k, v in schema.items()
               if not (k == "additionalProperties" and v is False)}
        return out
    if isinstance(schema, list):
        return [structural(v) for v in schema]
    return schema


def apply_crds():
    crds = []
    for (api_version, kind), file in CUSTOM_SCHEMAS.items():
        group, version = api_version.split("/")
        schema = structural(json.loads((SCHEMAS / file).read_text()))
        schema["properties"]["metadata"] = {"type": "object"}
        plural = kind.lower() + "s"
        crds.append({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {
                "group": group,
                "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": kind + "List"},
                "scope": "Namespaced",
                "versions": [{"name": version, "served": True, "storage": True,
                              "schema": {"openAPIV3Schema": schema},
                              "subresources": {"status": {}}}],
            },
        })
    kubectl("apply", "-f", "-", input=yaml.safe_dump_all(crds))
    for crd in crds:
        kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{crd['metadata']['name']}")


class JobController(threading.Thread):
    """Marks the release's hook Jobs complete once they exist, recording what else existed at
    that moment (to check Helm's order: hook ServiceAccount and ConfigMap before the Job, the
    Deployment only after it)."""

    def __init__(self, namespace):
        super().__init__(daemon=True)
        self.namespace = namespace
        self.stop = threading.Event()
        self.seen = {}

    def run(self):
        while not self.stop.is_set():
            jobs = json.loads(kubectl("get", "jobs", "-n", self.namespace, "-o", "json").stdout)["items"]
            for job in jobs:
                name = job["metadata"]["name"]
                if name in self.seen:
                    continue
                self.seen[name] = {
                    "deployment": kubectl("get", "deployments", "-n", self.namespace, "-o", "name").stdout.split(),
                    "serviceaccounts": kubectl("get", "serviceaccounts", "-n", self.namespace, "-o", "name").stdout.split(),
                    "configmaps": kubectl("get", "configmaps", "-n", self.namespace, "-o", "name").stdout.split(),
                }
                now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                status = {"status": {
                    "startTime": now, "completionTime": now, "succeeded": 1, "active": 0, "ready": 0,
                    "terminating": 0, "uncountedTerminatedPods": {},
                    "conditions": [
                        {"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": now, "lastTransitionTime": now},
                        {"type": "Complete", "status": "True", "lastProbeTime": now, "lastTransitionTime": now},
                    ]}}
                kubectl("patch", "job", name, "-n", self.namespace, "--subresource=status",
                        "--type=merge", "-p", json.dumps(status))
            time.sleep(0.3)


def helm(*args, namespace, values=None, files=()):
    """Runs helm against the API server while a JobController completes the hook Jobs;
    returns what the controller saw."""
    cmd = [HELM, *args, "-n", namespace, "--timeout", "120s"]
    with values_args(values, files) as extra:
        cmd += extra
        jobs = JobController(namespace)
        jobs.start()
        try:
            out = subprocess.run(cmd, capture_output=True, text=True)
        finally:
            jobs.stop.set()
            jobs.join()
    assert out.returncode == 0, f"helm {' '.join(args)}: {out.stderr}"
    return jobs.seen


def namespace_for(example):
    return "ex-" + pathlib.Path(example).stem.replace("_", "-")


@pytest.mark.parametrize("example", EXAMPLE_FILES)
def test_every_example_installs_upgrades_and_uninstalls_keeping_the_data(example):
    ns = namespace_for(example)
    kubectl("create", "namespace", ns)
    try:
        jobs = helm("install", "m", str(CHART), namespace=ns, files=[EXAMPLES / example])
        deployment = get("deployment", "m-metakv", ns)
        assert deployment, "the server's Deployment is stored"
        stored = yaml.safe_load((EXAMPLES / example).read_text())
        provisioning = stored["database"].get(stored["database"]["type"], {}).get("provisioning", {}).get("mode")
        if provisioning == "job":
            assert list(jobs) == ["m-metakv-provision"], jobs
            before = jobs["m-metakv-provision"]
            assert before["deployment"] == [], "the Deployment comes after the hook Job"
            assert "serviceaccount/m-metakv-provision" in before["serviceaccounts"]
            assert "configmap/m-metakv-provision" in before["configmaps"]
            assert get("job", "m-metakv-provision", ns) is None, "hook-succeeded deletes the Job"
        else:
            assert jobs == {}
        if provisioning == "aso":
            container = get("sqldatabasecontainer", "m-metakv-container", ns)
            resource = container["spec"]["resource"]
            assert resource["partitionKey"] == {"kind": "Hash", "paths": ["/p"], "version": 2}
            assert resource["indexingPolicy"]["includedPaths"] == [{"path": "/k/?"}]
        if provisioning == "ack":
            table = get("table", "m-metakv", ns)
            assert [k["attributeName"] for k in table["spec"]["keySchema"]] == ["p", "k"]

        # A configuration change rolls the pods: the checksum annotation changes.
        before = deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        helm("upgrade", "m", str(CHART), namespace=ns, files=[EXAMPLES / example],
             values={"server": {"log": {"level": "debug"}}})
        after = get("deployment", "m-metakv", ns)["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        assert after != before
        config = get("configmap", "m-metakv", ns)["data"]["config.toml"]
        assert 'level = "debug"' in config

        # Uninstall: the server goes, what holds data stays.
        subprocess.run([HELM, "uninstall", "m", "-n", ns, "--timeout", "60s"], check=True, capture_output=True)
        assert get("deployment", "m-metakv", ns) is None
        if provisioning == "aso":
            for kind, name in [("sqldatabase", "m-metakv-db"), ("sqldatabasecontainer", "m-metakv-container")]:
                assert get(kind, name, ns), f"{kind} {name} is kept"
        if provisioning == "ack":
            assert get("table", "m-metakv", ns), "the ACK Table is kept"
        if stored["database"]["type"] == "local":
            assert get("persistentvolumeclaim", "m-metakv", ns), "the PVC is kept"
    finally:
        kubectl("delete", "namespace", ns, "--wait=false", check=False)
