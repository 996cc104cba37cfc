{{/* Names and labels. */}}
{{- define "metakv.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "metakv.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "metakv.selectorLabels" -}}
app.kubernetes.io/name: {{ include "metakv.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "metakv.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "metakv.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "metakv.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "metakv.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "metakv.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Checks that JSON Schema cannot express; each fails the render with what to do. */}}
{{- define "metakv.validate" -}}
{{- $db := .Values.database -}}
{{- if eq $db.type "cosmosdb" -}}
{{- $c := $db.cosmosdb -}}
{{- if and (eq $c.credential "key") .Values.workloadIdentity.enabled -}}
{{- fail "database.cosmosdb.credential=key and workloadIdentity.enabled=true are exclusive: use workload identity (recommended; give the identity \"Cosmos DB Built-in Data Contributor\") or an account key, not both" -}}
{{- end -}}
{{- if and (eq $c.credential "key") (not $c.existingSecret.name) -}}
{{- fail "database.cosmosdb.credential=key needs database.cosmosdb.existingSecret.name: a Secret holding the account key" -}}
{{- end -}}
{{- if and (eq $c.credential "workload_identity") (not .Values.workloadIdentity.enabled) -}}
{{- fail "database.cosmosdb.credential=workload_identity needs workloadIdentity.enabled=true and workloadIdentity.clientId (or choose credential managed_identity or key)" -}}
{{- end -}}
{{- if eq $c.provisioning.mode "aso" -}}
{{- if not (.Capabilities.APIVersions.Has "documentdb.azure.com/v1api20240815/SqlDatabase") -}}
{{- fail "database.cosmosdb.provisioning.mode=aso needs Azure Service Operator v2 with the documentdb.azure.com CRDs (crdPattern 'documentdb.azure.com/*'), which this cluster does not have. Install ASO (https://azure.github.io/azure-service-operator/) or use provisioning.mode=job or none" -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and (eq $db.type "dynamodb") (eq $db.dynamodb.provisioning.mode "ack") -}}
{{- if not (.Capabilities.APIVersions.Has "dynamodb.services.k8s.aws/v1alpha1/Table") -}}
{{- fail "database.dynamodb.provisioning.mode=ack needs the ACK DynamoDB controller (dynamodb.services.k8s.aws/v1alpha1 Table), which this cluster does not have. Install it (https://aws-controllers-k8s.github.io/community/) or use provisioning.mode=job or none" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The server's configuration file. Secrets are not in it: they come from Secrets as
     environment variables or files (see metakv.env). Keys are the server's own (README,
     "Configuration"). */}}
{{- define "metakv.config" -}}
{{- $db := .Values.database -}}
[database]
type = {{ $db.type | quote }}
{{- if eq $db.type "local" }}

[database.local]
path = "/var/lib/metakv"
cache_size_mib = {{ int $db.local.cacheSizeMib }}
group_commit = {{ $db.local.groupCommit }}
{{- else if eq $db.type "postgres" }}
{{- $p := $db.postgres }}

[database.postgres]
host = {{ $p.host | quote }}
port = {{ int $p.port }}
user = {{ $p.user | quote }}
dbname = {{ $p.dbname | quote }}
schema = {{ $p.schema | quote }}
table = {{ $p.table | quote }}
auto_create = {{ $p.autoCreate }}
pool_size = {{ int $p.poolSize }}
ssl_mode = {{ $p.sslMode | quote }}
{{- if $p.caConfigMap.name }}
tls_ca_file = "/etc/metakv/postgres-ca/{{ $p.caConfigMap.key }}"
{{- end }}
{{- else if eq $db.type "dynamodb" }}
{{- $d := $db.dynamodb }}

[database.dynamodb]
table = {{ $d.table | quote }}
{{- if $d.region }}
region = {{ $d.region | quote }}
{{- end }}
{{- if $d.endpoint }}
endpoint = {{ $d.endpoint | quote }}
{{- end }}
auto_create = false
max_attempts = {{ int $d.maxAttempts }}
{{- else if eq $db.type "cosmosdb" }}
{{- $c := $db.cosmosdb }}

[database.cosmosdb]
endpoint = {{ $c.endpoint | quote }}
credential = {{ $c.credential | quote }}
database = {{ $c.database | quote }}
container = {{ $c.container | quote }}
auto_create = false
{{- if eq $c.throughput.mode "autoscale" }}
throughput = { mode = "autoscale", max_ru = {{ int $c.throughput.maxRu }} }
{{- else if eq $c.throughput.mode "manual" }}
throughput = { mode = "manual", ru = {{ int $c.throughput.ru }} }
{{- else }}
throughput = { mode = "none" }
{{- end }}
preferred_regions = [{{ range $i, $r := $c.preferredRegions }}{{ if $i }}, {{ end }}{{ $r | quote }}{{ end }}]
{{- if $c.managedIdentityClientId }}
managed_identity_client_id = {{ $c.managedIdentityClientId | quote }}
{{- end }}
accept_weak_consistency = {{ $c.acceptWeakConsistency }}
emulator = {{ $c.emulator }}
{{- end }}

[server]
listen = "0.0.0.0:{{ int .Values.server.port }}"
body_limit_bytes = {{ int .Values.server.bodyLimitBytes }}
request_timeout_secs = {{ int .Values.server.requestTimeoutSecs }}
shutdown_grace_secs = {{ int .Values.server.shutdownGraceSecs }}
# Not ready (503) rather than a crash loop while the backend is provisioned or unreachable.
wait_for_backend = true
{{- if .Values.server.auth.existingSecret }}

[server.auth]
token_file = "/etc/metakv/auth/{{ .Values.server.auth.key }}"
{{- end }}

[log]
format = {{ .Values.server.log.format | quote }}
level = {{ .Values.server.log.level | quote }}
{{- with .Values.server.telemetry.otlp }}
{{- if .endpoint }}

[telemetry.otlp]
endpoint = {{ .endpoint | quote }}
protocol = {{ .protocol | quote }}
service_name = {{ .serviceName | quote }}
sample_ratio = {{ printf "%.6f" (float64 .sampleRatio) }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Secret references as environment variables (values never leave their Secret). */}}
{{- define "metakv.secretEnv" -}}
{{- $db := .Values.database -}}
- name: METAKV_CONFIG
  value: /etc/metakv/config/config.toml
{{- if eq $db.type "postgres" }}
- name: METAKV_DATABASE__POSTGRES__PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $db.postgres.existingSecret.name }}
      key: {{ $db.postgres.existingSecret.key }}
{{- else if and (eq $db.type "dynamodb") $db.dynamodb.existingSecret }}
- name: METAKV_DATABASE__DYNAMODB__ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ $db.dynamodb.existingSecret }}
      key: access_key_id
- name: METAKV_DATABASE__DYNAMODB__SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $db.dynamodb.existingSecret }}
      key: secret_access_key
{{- else if and (eq $db.type "cosmosdb") (eq $db.cosmosdb.credential "key") }}
- name: METAKV_DATABASE__COSMOSDB__KEY
  valueFrom:
    secretKeyRef:
      name: {{ $db.cosmosdb.existingSecret.name }}
      key: {{ $db.cosmosdb.existingSecret.key }}
{{- end }}
{{- end -}}

{{/* A stable GUID (role assignment names must be GUIDs) from a seed string. */}}
{{- define "metakv.guid" -}}
{{- $h := sha256sum . -}}
{{- printf "%s-%s-4%s-8%s-%s" (substr 0 8 $h) (substr 8 12 $h) (substr 13 16 $h) (substr 17 20 $h) (substr 20 32 $h) -}}
{{- end -}}
