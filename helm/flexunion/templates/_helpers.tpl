{{/* vim: set filetype=mustache: */}}

{{- define "flexunion.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Fully qualified app name; 63 chars max (DNS label). Leaves room for the
"-migrate" suffix of the hook resources.
*/}}
{{- define "flexunion.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 55 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 55 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 55 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "flexunion.migrateName" -}}
{{- printf "%s-migrate" (include "flexunion.fullname" .) -}}
{{- end -}}

{{- define "flexunion.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "flexunion.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flexunion.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "flexunion.labels" -}}
helm.sh/chart: {{ include "flexunion.chart" . }}
{{ include "flexunion.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: flexunion
{{- end -}}

{{/* The serving pods: selector = name + instance + component=api. */}}
{{- define "flexunion.apiSelectorLabels" -}}
{{ include "flexunion.selectorLabels" . }}
app.kubernetes.io/component: api
{{- end -}}

{{- define "flexunion.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "flexunion.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "flexunion.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) -}}
{{- end -}}
{{- end -}}

{{/*
secretKeyRef for one secret item.
  item: a values map with value|url, existingSecret, existingSecretKey
  name: the chart-managed Secret that holds the inline value
  key:  the key in that Secret
*/}}
{{- define "flexunion.secretKeyRef" -}}
secretKeyRef:
{{- if .item.existingSecret }}
  name: {{ .item.existingSecret | quote }}
  key: {{ .item.existingSecretKey | quote }}
{{- else }}
  name: {{ .name | quote }}
  key: {{ .key | quote }}
{{- end }}
{{- end -}}

{{/* Whether an item is set at all (inline or by reference): "true" or "". */}}
{{- define "flexunion.isSet" -}}
{{- if or (get . "existingSecret") (get . "value") (get . "url") -}}true{{- end -}}
{{- end -}}

{{/* Inline values that go into the chart-managed Secret of the serving pods. */}}
{{- define "flexunion.appSecretInline" -}}
{{- $v := .Values -}}
{{- if or (and $v.database.app.url (not $v.database.app.existingSecret)) (and $v.secretKey.value (not $v.secretKey.existingSecret)) (and $v.oidc.clientSecret.value (not $v.oidc.clientSecret.existingSecret)) -}}true{{- end -}}
{{- end -}}

{{/* Inline values that go into the migrate Job's hook Secret. */}}
{{- define "flexunion.migrateSecretInline" -}}
{{- $v := .Values -}}
{{- if and $v.migrate.enabled (or (and $v.database.owner.url (not $v.database.owner.existingSecret)) (and $v.database.appPassword.value (not $v.database.appPassword.existingSecret)) (and $v.secretKey.value (not $v.secretKey.existingSecret))) -}}true{{- end -}}
{{- end -}}

{{/* Which source of federation files is used: "values", "configmap", "image" or "". */}}
{{- define "flexunion.tenantsSource" -}}
{{- $t := .Values.tenants -}}
{{- $n := 0 -}}
{{- if or $t.federations $t.binaryFederations }}{{ $n = add1 $n }}{{ end -}}
{{- if $t.existingConfigMap }}{{ $n = add1 $n }}{{ end -}}
{{- if $t.imagePath }}{{ $n = add1 $n }}{{ end -}}
{{- if gt $n 1 -}}
{{- fail "tenants: set only one of federations/binaryFederations, existingConfigMap or imagePath" -}}
{{- end -}}
{{- if or $t.federations $t.binaryFederations -}}values
{{- else if $t.existingConfigMap -}}configmap
{{- else if $t.imagePath -}}image
{{- end -}}
{{- end -}}

{{/* The directory `flexunion tenants apply` reads in the migrate Job. */}}
{{- define "flexunion.tenantsDir" -}}
{{- if eq (include "flexunion.tenantsSource" .) "image" -}}
{{- .Values.tenants.imagePath -}}
{{- else -}}
/tenants
{{- end -}}
{{- end -}}

{{/* ConfigMap key for one federation file: <folder>__<file>. */}}
{{- define "flexunion.tenantsKey" -}}
{{- if not (and (regexMatch "^[-_a-zA-Z0-9][-._a-zA-Z0-9]*$" .folder) (regexMatch "^[-_a-zA-Z0-9][-._a-zA-Z0-9]*$" .file)) -}}
{{- fail (printf "tenants: %q/%q: folder and file names may hold only letters, digits, '-', '_' and '.', and must not start with '.'" .folder .file) -}}
{{- end -}}
{{- printf "%s__%s" .folder .file -}}
{{- end -}}

{{/*
Checks that hold for every render; included once from deployment.yaml.
*/}}
{{- define "flexunion.validate" -}}
{{- $v := .Values -}}
{{- if not (include "flexunion.isSet" $v.database.app) -}}
{{- fail "database.app.url or database.app.existingSecret is required (the app role's connection; never the owner's)" -}}
{{- end -}}
{{- if and $v.migrate.enabled (not (include "flexunion.isSet" $v.database.owner)) -}}
{{- fail "database.owner.url or database.owner.existingSecret is required while migrate.enabled (the migrate Job connects as the owner)" -}}
{{- end -}}
{{- if and $v.database.app.url $v.database.owner.url (eq $v.database.app.url $v.database.owner.url) -}}
{{- fail "database.app.url must not be the owner's URL: the serving pods connect as the app role" -}}
{{- end -}}
{{- range $name, $url := dict "database.app.url" $v.database.app.url "database.owner.url" $v.database.owner.url -}}
{{- if and $url (regexMatch "[?&](sslmode|ssl)=" $url) -}}
{{- fail (printf "%s: put TLS settings in database.tls, not in the URL (SQLAlchemy rejects sslmode=, asyncpg misreads ssl=)" $name) -}}
{{- end -}}
{{- end -}}
{{- if and $v.database.tls.rootCA.existingSecret $v.database.tls.rootCA.existingConfigMap -}}
{{- fail "database.tls.rootCA: set existingSecret or existingConfigMap, not both" -}}
{{- end -}}
{{- if not (include "flexunion.isSet" $v.secretKey) -}}
{{- fail "secretKey.value or secretKey.existingSecret is required (one master secret shared by every pod and the migrate Job)" -}}
{{- end -}}
{{- if and $v.secretKey.value (not $v.secretKey.existingSecret) (lt (len $v.secretKey.value) 32) -}}
{{- fail "secretKey.value is too short: use at least 32 random characters" -}}
{{- end -}}
{{- if not $v.issuer -}}
{{- fail "issuer is required: the public base URL of the service, e.g. https://union.example.org" -}}
{{- end -}}
{{- if hasSuffix "/" $v.issuer -}}
{{- fail "issuer must not end with a slash" -}}
{{- end -}}
{{- range $v.extraEnv -}}
{{- if has .name (list "DATABASE_URL" "FLEXUNION_DATABASE_URL" "FLEXUNION_APP_DATABASE_URL" "FLEXUNION_APP_DB_PASSWORD" "FLEXUNION_SECRET_KEY") -}}
{{- fail (printf "extraEnv must not set %s: the chart sets the serving pods' database and secret settings itself, and never the owner's URL" .name) -}}
{{- end -}}
{{- end -}}
{{- if and (not $v.migrate.enabled) (include "flexunion.tenantsSource" .) -}}
{{- fail "tenants are applied by the migrate Job: enable migrate or remove the tenants settings" -}}
{{- end -}}
{{- if le (int $v.terminationGracePeriodSeconds) (int $v.preStopSleepSeconds) -}}
{{- fail "terminationGracePeriodSeconds must be longer than preStopSleepSeconds" -}}
{{- end -}}
{{- end -}}

{{/* Environment shared by the serving pods and the Job (no credentials). */}}
{{- define "flexunion.commonEnv" -}}
- name: FLEXUNION_APP_ROLE
  value: {{ .Values.database.appRole | quote }}
- name: FLEXUNION_DATA_DIR
  value: {{ .Values.dataDir.path | quote }}
- name: FLEXUNION_LOAD_DEMO
  value: "0"
- name: FLEXUNION_ISSUER
  value: {{ .Values.issuer | quote }}
{{- with .Values.settings.logLevel }}
- name: FLEXUNION_LOG_LEVEL
  value: {{ . | quote }}
{{- end }}
- name: HOME
  value: /tmp
- name: TMPDIR
  value: /tmp
{{- with .Values.database.tls.sslMode }}
- name: PGSSLMODE
  value: {{ . | quote }}
{{- end }}
{{- if include "flexunion.pgCA" . }}
- name: PGSSLROOTCERT
  value: {{ printf "/etc/flexunion/pg-ca/%s" .Values.database.tls.rootCA.key | quote }}
{{- end }}
{{- end -}}

{{/* Whether a PostgreSQL CA bundle is mounted: "true" or "". */}}
{{- define "flexunion.pgCA" -}}
{{- with .Values.database.tls.rootCA -}}
{{- if or .existingSecret .existingConfigMap -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{- define "flexunion.pgCAVolumeMount" -}}
- name: pg-ca
  mountPath: /etc/flexunion/pg-ca
  readOnly: true
{{- end -}}

{{- define "flexunion.pgCAVolume" -}}
{{- $ca := .Values.database.tls.rootCA -}}
- name: pg-ca
  {{- if $ca.existingSecret }}
  secret:
    secretName: {{ $ca.existingSecret }}
  {{- else }}
  configMap:
    name: {{ $ca.existingConfigMap }}
  {{- end }}
    items:
      - key: {{ $ca.key }}
        path: {{ $ca.key }}
{{- end -}}

{{/* Environment of the migrate Job (the OWNER's URL: this Job only). */}}
{{- define "flexunion.migrateEnv" -}}
{{- $migrateName := include "flexunion.migrateName" . -}}
# The OWNER's connection: this Job only.
- name: DATABASE_URL
  valueFrom:
    {{- include "flexunion.secretKeyRef" (dict "item" .Values.database.owner "name" $migrateName "key" "database-url") | nindent 4 }}
{{- if include "flexunion.isSet" .Values.database.appPassword }}
- name: FLEXUNION_APP_DB_PASSWORD
  valueFrom:
    {{- include "flexunion.secretKeyRef" (dict "item" .Values.database.appPassword "name" $migrateName "key" "app-db-password") | nindent 4 }}
{{- end }}
# Seals the signing key it creates: must be the serving pods' secret.
- name: FLEXUNION_SECRET_KEY
  valueFrom:
    {{- include "flexunion.secretKeyRef" (dict "item" .Values.secretKey "name" $migrateName "key" "secret-key") | nindent 4 }}
{{ include "flexunion.commonEnv" . }}
{{- with .Values.migrate.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
{{- define "flexunion.migrateContainer" -}}
- name: {{ .name }}
  image: {{ include "flexunion.image" .root | quote }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  args:
    {{- toYaml .args | nindent 4 }}
  env:
    {{- include "flexunion.migrateEnv" .root | nindent 4 }}
  resources:
    {{- toYaml .root.Values.migrate.resources | nindent 4 }}
  securityContext:
    {{- toYaml .root.Values.securityContext | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
    - name: data
      mountPath: {{ .root.Values.dataDir.path }}
    {{- if include "flexunion.pgCA" .root }}
    {{- if include "flexunion.pgCA" .root }}
    {{- include "flexunion.pgCAVolumeMount" .root | nindent 4 }}
    {{- end }}
    {{- end }}
    {{- if .tenants }}
    - name: tenants
      mountPath: /tenants
      readOnly: true
    {{- end }}
{{- end -}}
