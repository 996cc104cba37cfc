"""The chart, offline: lint, render every scenario and example, validate every object (built-in
kinds against Kubernetes' schemas, ASO and ACK resources against their CRD schemas), and assert
what the chart promises. Run by scripts/test.sh (scripts/lib/helm.sh) with HELM and METAKV_BIN
set; `pytest charts/metakv/tests`.
"""

import contextlib
import json
import os
import pathlib
import subprocess
import tempfile
import tomllib

import jsonschema
import kubernetes_validate
import pytest
import yaml

CHART = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = CHART.parent / "examples"
SCHEMAS = pathlib.Path(__file__).resolve().parent / "schemas"
HELM = os.environ.get("HELM", "helm")
METAKV = os.environ.get("METAKV_BIN", "metakv")
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest checked.
KUBE_VERSIONS = ["1.27.0", "1.34.0"]
ASO = "documentdb.azure.com/v1api20240815"
ACK = "dynamodb.services.k8s.aws/v1alpha1"
CRDS = [f"{ASO}/SqlDatabase", f"{ASO}/SqlDatabaseContainer", f"{ASO}/SqlRoleAssignment",
        f"{ACK}/Table", "monitoring.coreos.com/v1/ServiceMonitor"]
CUSTOM_SCHEMAS = {
    (ASO, "SqlDatabase"): "sqldatabase_v1api20240815.json",
    (ASO, "SqlDatabaseContainer"): "sqldatabasecontainer_v1api20240815.json",
    (ASO, "SqlRoleAssignment"): "sqlroleassignment_v1api20240815.json",
    (ACK, "Table"): "table_v1alpha1.json",
}
SCENARIOS = sorted(p.name for p in (CHART / "ci").glob("*-values.yaml"))
EXAMPLE_FILES = sorted(p.name for p in EXAMPLES.glob("*.yaml"))
ACCOUNT = ("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/"
           "Microsoft.DocumentDB/databaseAccounts/acct")
WORKLOAD = {"workloadIdentity": {"enabled": True, "clientId": "22222222-2222-2222-2222-222222222222"}}


def cosmos(**cosmosdb):
    base = {"endpoint": "https://acct.documents.azure.com:443/",
            "provisioning": {"mode": "aso", "accountArmId": ACCOUNT}}
    base.update(cosmosdb)
    return {"database": {"type": "cosmosdb", "cosmosdb": base}, **WORKLOAD}


@contextlib.contextmanager
def values_args(values=None, files=()):
    """Helm's `-f` arguments for `files` and for `values` (a dict, written to a temporary
    values file for as long as the block runs)."""
    args = []
    for f in files:
        args += ["-f", str(f)]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as extra:
        if values is not None:
            yaml.safe_dump(values, extra)
            extra.flush()
            args += ["-f", extra.name]
        yield args


def helm(*args, values=None, files=(), crds=True):
    """Runs helm with `values` and `files`; returns the process."""
    cmd = [HELM, *args, str(CHART)]
    if crds and args[0] == "template":
        for api in CRDS:
            cmd += ["--api-versions", api]
    with values_args(values, files) as extra:
        return subprocess.run(cmd + extra, capture_output=True, text=True)


def render(values=None, files=(), crds=True):
    """The rendered objects, hooks included."""
    out = helm("template", "t", values=values, files=files, crds=crds)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def render_error(values=None, files=(), crds=True):
    out = helm("template", "t", values=values, files=files, crds=crds)
    assert out.returncode != 0, "rendering must fail:\n" + out.stdout[:2000]
    return out.stderr


def one(objects, kind, name=None):
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"one {kind} {name or ''} expected, found {len(found)}"
    return found[0]


def kinds(objects):
    return sorted(o["kind"] for o in objects)


def validate(objects):
    for obj in objects:
        key = (obj["apiVersion"], obj["kind"])
        if key in CUSTOM_SCHEMAS:
            schema = json.loads((SCHEMAS / CUSTOM_SCHEMAS[key]).read_text())
            jsonschema.validate(obj, schema)
        elif obj["apiVersion"].startswith("monitoring.coreos.com/"):
            # No schema vendored for the Prometheus Operator: the fields the chart sets.
            assert set(obj["spec"]) == {"selector", "endpoints"}
        else:
            for version in KUBE_VERSIONS:
                kubernetes_validate.validate(obj, version, strict=True)


def config_of(objects, name="t-metakv"):
    return one(objects, "ConfigMap", name)["data"]["config.toml"]


# ---------------------------------------------------------------------------------------------
# Every scenario and example: lint, render, validate.


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_lints_strictly(scenario):
    out = helm("lint", "--strict", files=[CHART / "ci" / scenario])
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_renders_valid_objects(scenario):
    objects = render(files=[CHART / "ci" / scenario])
    assert "Deployment" in kinds(objects)
    validate(objects)


@pytest.mark.parametrize("example", EXAMPLE_FILES)
def test_example_renders_valid_objects(example):
    objects = render(files=[EXAMPLES / example])
    validate(objects)


@pytest.mark.parametrize("scenario", SCENARIOS + ["defaults"])
def test_the_server_accepts_the_rendered_configuration(scenario, tmp_path):
    """The ConfigMap and the environment are exactly the server's keys: `metakv config show`
    with them succeeds (secret references replaced by placeholders)."""
    files = [] if scenario == "defaults" else [CHART / "ci" / scenario]
    objects = render(files=files)
    text = config_of(objects)
    config = tomllib.loads(text)
    # Files the config names that exist only in the pod, made here.
    if "auth" in config["server"]:
        (tmp_path / "auth").mkdir()
        pathlib.Path(tmp_path / "auth" / pathlib.Path(config["server"]["auth"]["token_file"]).name).write_text("placeholder-token\n")
    text = text.replace("/etc/metakv/", f"{tmp_path}/")
    (tmp_path / "config.toml").write_text(text)
    container = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("METAKV_")}
    for var in container["env"]:
        env[var["name"]] = var.get("value", "placeholder-secret")
    env["METAKV_CONFIG"] = str(tmp_path / "config.toml")
    out = subprocess.run([METAKV, "config", "show"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    shown = out.stdout
    assert f'type = "{config["database"]["type"]}"' in shown, shown
    assert "placeholder-secret" not in shown, "secrets are masked"
    # The hook Job's configuration too.
    if [o for o in objects if o["kind"] == "Job"]:
        (tmp_path / "config.toml").write_text(config_of(objects, "t-metakv-provision"))
        out = subprocess.run([METAKV, "config", "show"], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr


# ---------------------------------------------------------------------------------------------
# Defaults and security.


def test_defaults_are_the_embedded_store_on_a_kept_pvc_hardened():
    objects = render(crds=False)
    assert kinds(objects) == ["ConfigMap", "Deployment", "PersistentVolumeClaim", "Service", "ServiceAccount"]
    config = tomllib.loads(config_of(objects))
    assert config["database"] == {"type": "local", "local": {"path": "/var/lib/metakv", "cache_size_mib": 32, "group_commit": True}}
    assert config["server"]["listen"] == "0.0.0.0:7070"
    assert config["server"]["wait_for_backend"] is True
    pvc = one(objects, "PersistentVolumeClaim")
    assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod = deployment["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    c = pod["containers"][0]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert mounts == {"/etc/metakv/config", "/tmp", "/var/lib/metakv"}
    assert one(objects, "ServiceAccount")["automountServiceAccountToken"] is False


def test_local_with_two_replicas_is_a_schema_error():
    err = render_error({"replicaCount": 2})
    assert "replicaCount" in err and "values don't meet the specifications of the schema" in err, err


def test_local_with_autoscaling_is_a_schema_error():
    err = render_error({"autoscaling": {"enabled": True}})
    assert "autoscaling" in err, err


def test_an_unknown_values_key_is_an_error():
    err = render_error({"database": {"type": "local", "postgress": {}}})
    assert "postgress" in err and "Additional property" in err, err
    err = render_error({"replicas": 2})
    assert "replicas" in err, err


def test_an_unknown_backend_type_is_an_error():
    err = render_error({"database": {"type": "mysql"}})
    assert "database.type" in err or "type" in err, err


def test_traces_are_exported_only_when_an_endpoint_is_given(tmp_path):
    assert "telemetry" not in tomllib.loads(config_of(render()))
    objects = render({"server": {"telemetry": {"otlp": {
        "endpoint": "http://otel-collector.observability:4318", "protocol": "http/json", "sampleRatio": 0.25}}}})
    text = config_of(objects)
    assert tomllib.loads(text)["telemetry"]["otlp"] == {
        "endpoint": "http://otel-collector.observability:4318", "protocol": "http/json",
        "service_name": "metakv", "sample_ratio": 0.25}
    (tmp_path / "config.toml").write_text(text.replace("/etc/metakv/", f"{tmp_path}/"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("METAKV_")}
    env["METAKV_CONFIG"] = str(tmp_path / "config.toml")
    out = subprocess.run([METAKV, "config", "show"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert 'protocol = "http/json"' in out.stdout, out.stdout
    assert "server" in render_error({"server": {"telemetry": {"otlp": {"endpoint": "otel:4318"}}}})


def test_tokens_come_from_a_secret_file():
    objects = render({"server": {"auth": {"existingSecret": "tok", "key": "list"}}})
    config = tomllib.loads(config_of(objects))
    assert config["server"]["auth"] == {"token_file": "/etc/metakv/auth/list"}
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert {"name": "auth", "secret": {"secretName": "tok"}} in pod["volumes"]


# ---------------------------------------------------------------------------------------------
# Secrets: references only.


SECRET_KEYS = {"password", "key", "secret_access_key", "access_key_id", "tokens", "url"}


def all_keys(table, prefix=""):
    for k, v in table.items():
        yield prefix + k
        if isinstance(v, dict):
            yield from all_keys(v, prefix + k + ".")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_secret_is_ever_in_a_configmap(scenario):
    objects = render(files=[CHART / "ci" / scenario])
    for cm in (o for o in objects if o["kind"] == "ConfigMap"):
        config = tomllib.loads(cm["data"]["config.toml"])
        leaked = [k for k in all_keys(config) if k.rsplit(".", 1)[-1] in SECRET_KEYS]
        assert not leaked, f"{cm['metadata']['name']} has {leaked}"
    assert "Secret" not in kinds(objects), "the chart never renders a Secret"


def test_postgres_password_is_a_secret_reference():
    objects = render(files=[CHART / "ci" / "postgres-values.yaml"])
    env = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]
    password = next(e for e in env if e["name"] == "METAKV_DATABASE__POSTGRES__PASSWORD")
    assert password["valueFrom"] == {"secretKeyRef": {"name": "metakv-postgres", "key": "password"}}
    config = tomllib.loads(config_of(objects))["database"]["postgres"]
    assert config["host"] == "db.example.internal" and config["ssl_mode"] == "require"
    assert config["tls_ca_file"] == "/etc/metakv/postgres-ca/ca.crt"


def test_postgres_without_a_password_secret_is_a_schema_error():
    err = render_error({"database": {"type": "postgres", "postgres": {"host": "db"}}})
    assert "existingSecret" in err or "name" in err, err


# ---------------------------------------------------------------------------------------------
# Cosmos DB.


def test_cosmos_aso_renders_database_container_and_role_kept_on_uninstall():
    objects = render(cosmos(provisioning={"mode": "aso", "accountArmId": ACCOUNT,
                                          "aso": {"principalId": "pid-1"}}))
    db = one(objects, "SqlDatabase")
    container = one(objects, "SqlDatabaseContainer")
    role = one(objects, "SqlRoleAssignment")
    for obj in (db, container, role):
        annotations = obj["metadata"]["annotations"]
        assert annotations["serviceoperator.azure.com/reconcile-policy"] == "detach-on-delete"
        assert annotations["helm.sh/resource-policy"] == "keep"
    assert db["spec"]["owner"] == {"armId": ACCOUNT}
    assert db["spec"]["resource"] == {"id": "metakv"}
    assert container["spec"]["owner"] == {"name": db["metadata"]["name"]}
    assert container["spec"]["options"] == {"autoscaleSettings": {"maxThroughput": 1000}}
    assert role["spec"]["principalId"] == "pid-1"
    assert role["spec"]["roleDefinitionId"] == f"{ACCOUNT}/sqlRoleDefinitions/00000000-0000-0000-0000-000000000002"


def test_cosmos_aso_assigns_a_custom_least_privilege_role_when_given_and_refuses_a_non_guid():
    custom = "5f1c3e0a-1b2c-4d5e-8f90-0123456789ab"
    objects = render(cosmos(provisioning={"mode": "aso", "accountArmId": ACCOUNT,
                                          "aso": {"principalId": "pid-1", "roleDefinitionId": custom}}))
    role = one(objects, "SqlRoleAssignment")
    assert role["spec"]["roleDefinitionId"] == f"{ACCOUNT}/sqlRoleDefinitions/{custom}"
    err = render_error(cosmos(provisioning={"mode": "aso", "accountArmId": ACCOUNT,
                                            "aso": {"principalId": "pid-1", "roleDefinitionId": "contributor"}}))
    assert "roleDefinitionId" in err, err
    assert role["spec"]["scope"] == f"{ACCOUNT}/dbs/metakv"
    guid = role["spec"]["azureName"]
    assert len(guid) == 36 and guid.count("-") == 4
    assert guid == one(render(cosmos(provisioning={"mode": "aso", "accountArmId": ACCOUNT,
                                                   "aso": {"principalId": "pid-1"}})),
                       "SqlRoleAssignment")["spec"]["azureName"], "stable across renders"
    # Workload identity: the ServiceAccount annotation and the pod label.
    sa = one(objects, "ServiceAccount")
    assert sa["metadata"]["annotations"]["azure.workload.identity/client-id"] == WORKLOAD["workloadIdentity"]["clientId"]
    labels = one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert labels["azure.workload.identity/use"] == "true"
    config = tomllib.loads(config_of(objects))["database"]["cosmosdb"]
    assert config["credential"] == "workload_identity" and config["auto_create"] is False
    validate(objects)


def test_cosmos_aso_without_the_crds_fails_with_instructions():
    err = render_error(cosmos(), crds=False)
    assert "Azure Service Operator" in err and "provisioning.mode=job or none" in err, err


def test_cosmos_aso_needs_the_account_arm_id():
    err = render_error(cosmos(provisioning={"mode": "aso"}))
    assert "accountArmId" in err, err


@pytest.mark.parametrize("throughput,options", [
    ({"mode": "autoscale", "maxRu": 4000}, {"autoscaleSettings": {"maxThroughput": 4000}}),
    ({"mode": "manual", "ru": 400}, {"throughput": 400}),
    ({"mode": "none"}, None),
])
def test_every_throughput_mode(throughput, options):
    objects = render(cosmos(throughput=throughput))
    container = one(objects, "SqlDatabaseContainer")
    assert container["spec"].get("options") == options
    config = tomllib.loads(config_of(objects))["database"]["cosmosdb"]
    expected = {"mode": throughput["mode"]}
    if throughput["mode"] == "autoscale":
        expected["max_ru"] = throughput["maxRu"]
    if throughput["mode"] == "manual":
        expected["ru"] = throughput["ru"]
    assert config["throughput"] == expected
    validate(objects)


def test_a_throughput_below_the_service_minimum_is_a_schema_error():
    assert "maxRu" in render_error(cosmos(throughput={"mode": "autoscale", "maxRu": 500}))
    assert "ru" in render_error(cosmos(throughput={"mode": "manual", "ru": 100}))


def test_cosmos_job_runs_provision_as_a_hook_with_its_own_identity():
    objects = render(files=[CHART / "ci" / "cosmos-job-values.yaml"])
    job = one(objects, "Job")
    sa = one(objects, "ServiceAccount", "t-metakv-provision")
    cm = one(objects, "ConfigMap", "t-metakv-provision")
    for obj in (job, sa, cm):
        assert obj["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(sa["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert int(cm["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "t-metakv-provision"
    assert pod["restartPolicy"] == "Never"
    c = pod["containers"][0]
    assert c["args"] == ["provision"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    key = next(e for e in c["env"] if e["name"] == "METAKV_DATABASE__COSMOSDB__KEY")
    assert key["valueFrom"] == {"secretKeyRef": {"name": "metakv-cosmos-key", "key": "key"}}
    assert config_of(objects, "t-metakv-provision") == config_of(objects)
    assert not [o for o in objects if o["kind"].startswith("Sql")], "no ASO resources in job mode"


def test_cosmos_job_with_workload_identity_provisions_through_arm_with_its_own_identity():
    objects = render(files=[CHART / "ci" / "cosmos-job-wi-values.yaml"])
    sa = one(objects, "ServiceAccount", "t-metakv-provision")
    assert sa["metadata"]["annotations"]["azure.workload.identity/client-id"] == "44444444-4444-4444-4444-444444444444"
    server_sa = one(objects, "ServiceAccount", "t-metakv")
    assert server_sa["metadata"]["annotations"]["azure.workload.identity/client-id"] == "22222222-2222-2222-2222-222222222222"
    job = one(objects, "Job")["spec"]["template"]
    assert job["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert not [e for e in job["spec"]["containers"][0]["env"] if "KEY" in e["name"]], "no key"
    config = tomllib.loads(config_of(objects, "t-metakv-provision"))["database"]["cosmosdb"]
    assert config["arm"] == {"subscription_id": "00000000-0000-0000-0000-000000000001",
                             "resource_group": "rg-metakv", "account": "myaccount"}
    assert config["credential"] == "workload_identity"
    assert "arm" not in tomllib.loads(config_of(objects))["database"]["cosmosdb"], "the server never provisions"


def test_cosmos_job_with_workload_identity_needs_the_jobs_identity_and_the_account():
    values = cosmos(provisioning={"mode": "job", "accountArmId": ACCOUNT})
    assert "provisioning.job.clientId" in render_error(values)
    values = cosmos(provisioning={"mode": "job", "job": {"clientId": "c"}})
    assert "accountArmId" in render_error(values)


def test_key_and_workload_identity_together_are_an_error():
    values = cosmos(credential="key", existingSecret={"name": "k", "key": "key"})
    err = render_error(values)
    assert "exclusive" in err, err


def test_workload_identity_credential_needs_workload_identity():
    values = cosmos()
    values["workloadIdentity"] = {"enabled": False}
    assert "workloadIdentity.enabled=true" in render_error(values)


def test_cosmos_none_renders_no_provisioning():
    objects = render(files=[CHART / "ci" / "cosmos-none-values.yaml"])
    assert kinds(objects) == ["ConfigMap", "Deployment", "Service", "ServiceAccount"]
    config = tomllib.loads(config_of(objects))["database"]["cosmosdb"]
    assert config["managed_identity_client_id"] == "33333333-3333-3333-3333-333333333333"


# ---------------------------------------------------------------------------------------------
# DynamoDB.


def test_dynamodb_ack_table_is_retained_with_pitr_and_deletion_protection():
    objects = render(files=[CHART / "ci" / "dynamodb-ack-values.yaml"])
    table = one(objects, "Table")
    assert table["metadata"]["annotations"]["services.k8s.aws/deletion-policy"] == "retain"
    assert table["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    spec = table["spec"]
    assert spec["tableName"] == "metakv" and spec["billingMode"] == "PAY_PER_REQUEST"
    assert spec["continuousBackups"] == {"pointInTimeRecoveryEnabled": True}
    assert spec["deletionProtectionEnabled"] is True
    # IRSA on the server's ServiceAccount.
    sa = one(objects, "ServiceAccount")
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == "arn:aws:iam::111122223333:role/metakv"


def test_dynamodb_ack_without_the_crd_fails_with_instructions():
    err = render_error(files=[CHART / "ci" / "dynamodb-ack-values.yaml"], crds=False)
    assert "ACK" in err, err


def test_dynamodb_job_has_its_own_irsa_role():
    objects = render(files=[CHART / "ci" / "dynamodb-job-values.yaml"])
    sa = one(objects, "ServiceAccount", "t-metakv-provision")
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == "arn:aws:iam::111122223333:role/metakv-provision"
    assert one(objects, "Job")["spec"]["template"]["spec"]["containers"][0]["args"] == ["provision"]
    assert "Table" not in kinds(objects)


# ---------------------------------------------------------------------------------------------
# Rollouts and the driver.


def test_a_config_change_changes_the_checksum_and_nothing_else_does():
    def checksum(values):
        d = one(render(values), "Deployment")
        return d["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    base = checksum({})
    assert checksum({"server": {"log": {"level": "debug"}}}) != base
    assert checksum({"podLabels": {"team": "x"}}) == base


def test_the_chart_and_the_driver_agree_on_the_layout():
    layout = json.loads(subprocess.run([METAKV, "layout"], capture_output=True, text=True, check=True).stdout)
    container = one(render(cosmos()), "SqlDatabaseContainer")["spec"]["resource"]
    assert container["partitionKey"] == layout["cosmosdb"]["partitionKey"]
    assert container["indexingPolicy"] == layout["cosmosdb"]["indexingPolicy"]
    table = one(render(files=[CHART / "ci" / "dynamodb-ack-values.yaml"]), "Table")["spec"]
    for field in ("attributeDefinitions", "keySchema", "billingMode"):
        assert table[field] == layout["dynamodb"][field], field


def test_optional_objects():
    objects = render({
        "database": {"type": "postgres", "postgres": {"host": "db", "existingSecret": {"name": "pg"}}},
        "replicaCount": 2,
        "podDisruptionBudget": {"enabled": True},
        "autoscaling": {"enabled": True},
        "serviceMonitor": {"enabled": True},
        "networkPolicy": {"enabled": True},
        "extraObjects": [{"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "{{ .Release.Name }}-extra"}, "data": {"a": "b"}}],
    })
    assert {"PodDisruptionBudget", "HorizontalPodAutoscaler", "ServiceMonitor", "NetworkPolicy"} <= set(kinds(objects))
    one(objects, "ConfigMap", "t-extra")
    assert "replicas" not in one(objects, "Deployment")["spec"], "the HPA owns the replica count"
    validate(objects)


# ---------------------------------------------------------------------------------------------
# The hook Job's command, for real, and the docs.


EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="


def backend_url(variable):
    url = os.environ.get(variable, "").strip()
    if not url:
        if os.environ.get("KV_TEST_MODE") == "required":
            pytest.fail(f"KV_TEST_MODE=required: {variable} is not set")
        pytest.skip(f"{variable} is not set")
    return url


def run_job(objects, tmp_path, secret_value):
    """Runs the rendered hook Job's container command — its config map, its environment (the
    Secret's value filled in) — with the server binary."""
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "config.toml").write_text(config_of(objects, "t-metakv-provision"))
    job = one(objects, "Job")["spec"]["template"]["spec"]["containers"][0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("METAKV_")}
    for var in job["env"]:
        env[var["name"]] = var.get("value", secret_value)
    env["METAKV_CONFIG"] = env["METAKV_CONFIG"].replace("/etc/metakv/", f"{tmp_path}/")
    return subprocess.run([METAKV, *job["args"]], env=env, capture_output=True, text=True)


def test_the_cosmos_hook_job_provisions_the_emulator_and_a_second_run_changes_nothing(tmp_path):
    url = backend_url("KV_TEST_COSMOS_URL")
    container = f"chart-job-{os.getpid()}"
    objects = render({"database": {"cosmosdb": {"endpoint": url, "database": "metakv-chart-test",
                                                "container": container}}},
                     files=[EXAMPLES / "emulator-dev.yaml"])
    first = run_job(objects, tmp_path, EMULATOR_KEY)
    assert first.returncode == 0, first.stderr
    assert f"created container {container}" in first.stdout, first.stdout
    second = run_job(objects, tmp_path, EMULATOR_KEY)
    assert second.returncode == 0, second.stderr
    assert "already exist" in second.stdout and "nothing changed" in second.stdout, second.stdout
    assert EMULATOR_KEY not in first.stdout + first.stderr + second.stdout + second.stderr


def test_the_dynamodb_hook_job_provisions_dynamodb_local_and_a_second_run_changes_nothing(tmp_path):
    url = backend_url("KV_TEST_DYNAMODB_URL")
    table = f"chart-job-{os.getpid()}"
    objects = render({"database": {"dynamodb": {"endpoint": url, "region": "us-east-1", "table": table,
                                                "existingSecret": "static-keys"}}},
                     files=[CHART / "ci" / "dynamodb-job-values.yaml"])
    first = run_job(objects, tmp_path, "test")
    assert first.returncode == 0, first.stderr
    assert f"created table {table}" in first.stdout, first.stdout
    second = run_job(objects, tmp_path, "test")
    assert second.returncode == 0, second.stderr
    assert "nothing changed" in second.stdout, second.stdout


def leaf_keys(values, prefix=""):
    for k, v in values.items():
        if isinstance(v, dict) and v:
            yield from leaf_keys(v, prefix + k + ".")
        else:
            yield prefix + k


def test_the_readme_documents_every_value():
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    readme = (CHART / "README.md").read_text()
    missing = [k for k in leaf_keys(values) if f"`{k}`" not in readme]
    assert not missing, f"charts/metakv/README.md has no row for {missing}"
