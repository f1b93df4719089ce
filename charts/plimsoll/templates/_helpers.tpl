{{/*
Names and labels. The full name names every object; with the usual
`helm install plimsoll` it is "plimsoll", the name config/ and the tests use.
*/}}
{{- define "plimsoll.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "plimsoll.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "plimsoll.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "plimsoll.labels" -}}
helm.sh/chart: {{ include "plimsoll.chart" . }}
{{ include "plimsoll.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: plimsoll
{{- end }}

{{/* Labels that select the server's Pods; never change them (selectors are immutable). */}}
{{- define "plimsoll.selectorLabels" -}}
app.kubernetes.io/name: {{ include "plimsoll.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end }}

{{/* Labels that select the background audit's Pods (audit.enabled). */}}
{{- define "plimsoll.auditSelectorLabels" -}}
app.kubernetes.io/name: {{ include "plimsoll.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: audit
{{- end }}

{{/* Labels on the background audit's objects. */}}
{{- define "plimsoll.auditLabels" -}}
helm.sh/chart: {{ include "plimsoll.chart" . }}
{{ include "plimsoll.auditSelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: plimsoll
{{- end }}

{{/* The TLS Secret: plimsoll's own (selfManaged), cert-manager's or yours. */}}
{{- define "plimsoll.tlsSecretName" -}}
{{- if eq .Values.tls.mode "existingSecret" }}
{{- .Values.tls.existingSecret.name }}
{{- else }}
{{- printf "%s-tls" (include "plimsoll.fullname" .) }}
{{- end }}
{{- end }}

{{/*
The self-managed CA's Secret (tls.mode selfManaged): the CA and its key,
apart from the serving Secret. Not <fullname>-ca, which is the name of
cert-manager's CA Secret in tls.mode certManager: switching modes must not
have Helm delete the one while cert-manager writes the other.
*/}}
{{- define "plimsoll.tlsCASecretName" -}}
{{- printf "%s-tls-ca" (include "plimsoll.fullname" .) }}
{{- end }}

{{/* plimsoll's service account as the API server names it in request.userInfo.username. */}}
{{- define "plimsoll.serviceAccountUsername" -}}
{{- printf "system:serviceaccount:%s:%s" .Release.Namespace (include "plimsoll.fullname" .) }}
{{- end }}

{{/*
The policy file as the server reads it: the value policy, with
contextRules: false when contextRules.enabled is off (the server then has
no RBAC to read what those rules read, and starts no informer).
*/}}
{{- define "plimsoll.policy" -}}
{{- $policy := deepCopy .Values.policy }}
{{- if not .Values.contextRules.enabled }}
{{- $_ := set $policy "contextRules" false }}
{{- end }}
{{- toYaml $policy }}
{{- end }}

{{/* The image of the server, pinned by digest when one is given. */}}
{{- define "plimsoll.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The modes that get a webhook entry: audit only with dryRun. */}}
{{- define "plimsoll.modes" -}}
{{- if .Values.dryRun }}audit{{ else }}enforce warn audit{{ end }}
{{- end }}

{{/*
The namespaceSelector of one mode's entry (test/chart checks which
namespaces each entry selects, for every scope, defaultMode and dryRun).
Called with (dict "root" $ "mode" $mode).
*/}}
{{- define "plimsoll.namespaceSelector" -}}
{{- $v := .root.Values }}
{{- $excluded := concat (list "kube-system" "kube-public" "kube-node-lease" .root.Release.Namespace) $v.excludedNamespaces | uniq | sortAlpha -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values: {{ toJson $excluded }}
{{- if and $v.dryRun (eq $v.scope "cluster") }}
  {{- /* every namespace but those turned off */}}
  - key: plimsoll.dev/mode
    operator: NotIn
    values: ["off"]
{{- else if $v.dryRun }}
  - key: plimsoll.dev/mode
    operator: In
    values: ["enforce", "warn", "audit"]
{{- else if and (eq $v.scope "cluster") (eq .mode $v.defaultMode) }}
  {{- /* labelled with this mode, or not labelled at all: NotIn matches a missing label */}}
  {{- $others := list }}
  {{- range list "enforce" "warn" "audit" "off" }}
  {{- if ne . $.mode }}{{ $others = append $others . }}{{ end }}
  {{- end }}
  - key: plimsoll.dev/mode
    operator: NotIn
    values: {{ toJson $others }}
{{- else }}
  - key: plimsoll.dev/mode
    operator: In
    values: [{{ .mode | quote }}]
{{- end }}
{{- end }}

{{/* How the API server reaches one path of plimsoll. (dict "root" $ "path" "/mutate/enforce") */}}
{{- define "plimsoll.clientConfig" -}}
{{- $v := .root.Values -}}
service:
  name: {{ include "plimsoll.fullname" .root }}
  namespace: {{ .root.Release.Namespace }}
  path: {{ .path }}
  port: {{ $v.service.port }}
{{- if eq $v.tls.mode "existingSecret" }}
caBundle: {{ $v.tls.existingSecret.caBundle | b64enc }}
{{- end }}
{{- end }}

{{/* Annotations of both webhook configurations. */}}
{{- define "plimsoll.webhookAnnotations" -}}
{{- $a := deepCopy .Values.webhook.annotations }}
{{- if eq .Values.tls.mode "certManager" }}
{{- $_ := set $a "cert-manager.io/inject-ca-from" (printf "%s/%s" .Release.Namespace (include "plimsoll.tlsSecretName" .)) }}
{{- end }}
{{- with $a -}}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The restricted securityContext of every container the chart runs. */}}
{{- define "plimsoll.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{- define "plimsoll.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}
