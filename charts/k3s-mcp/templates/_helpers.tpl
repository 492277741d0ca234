{{/* Names, labels and small shared pieces of the k3s-mcp chart. */}}

{{- define "k3s-mcp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "k3s-mcp.fullname" -}}
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

{{- define "k3s-mcp.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "k3s-mcp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "k3s-mcp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "k3s-mcp.labels" -}}
helm.sh/chart: {{ include "k3s-mcp.chart" . }}
{{ include "k3s-mcp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: mcp-server
{{- end }}

{{- define "k3s-mcp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "k3s-mcp.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the bearer token: the operator's own, or the one this chart creates. */}}
{{- define "k3s-mcp.authSecretName" -}}
{{- default (include "k3s-mcp.fullname" .) .Values.auth.existingSecret }}
{{- end }}

{{/* Host header values the server accepts besides loopback names: the Service's in-cluster names, then
     server.allowedHosts, then the host of server.resourceUrl. */}}
{{- define "k3s-mcp.allowedHosts" -}}
{{- $name := include "k3s-mcp.fullname" . }}
{{- $namespace := .Release.Namespace }}
{{- $names := list $name (printf "%s.%s" $name $namespace) (printf "%s.%s.svc" $name $namespace) (printf "%s.%s.svc.cluster.local" $name $namespace) }}
{{- $hosts := concat $names .Values.server.allowedHosts }}
{{- with (include "k3s-mcp.resourceHost" .) }}
{{- if not (has . $hosts) }}
{{- $hosts = append $hosts . }}
{{- end }}
{{- end }}
{{- if .Values.metrics.enabled }}
{{- /* Prometheus names the pod IP in its Host header; the container's POD_IP variable expands here. */}}
{{- $hosts = append $hosts "$(POD_IP)" }}
{{- end }}
{{- join "," $hosts }}
{{- end }}

{{- define "k3s-mcp.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Node anti-affinity for the server pods, from the soft/hard/none preset. */}}
{{- define "k3s-mcp.affinity" -}}
{{- if .Values.affinity }}
{{- toYaml .Values.affinity }}
{{- else if eq .Values.antiAffinity "hard" }}
podAntiAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "k3s-mcp.selectorLabels" . | nindent 10 }}
{{- else if eq .Values.antiAffinity "soft" }}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "k3s-mcp.selectorLabels" . | nindent 12 }}
{{- end }}
{{- end }}

{{/* RBAC rules for the chosen preset. Write verbs match what the operator tools do: apply, scale, restart,
     delete, exec, cordon and drain. */}}
{{- define "k3s-mcp.rbacRules" -}}
{{- $read := list "get" "list" "watch" }}
{{- $write := list "get" "list" "watch" "create" "update" "patch" "delete" }}
{{- $verbs := ternary $write $read (eq .Values.rbac.preset "operator") -}}
- apiGroups: [""]
  resources: ["pods", "services", "endpoints", "configmaps", "persistentvolumeclaims", "serviceaccounts", "replicationcontrollers", "resourcequotas", "limitranges"]
  verbs: {{ toJson $verbs }}
- apiGroups: [""]
  resources: ["pods/log"]
  verbs: ["get", "list"]
- apiGroups: [""]
  resources: ["namespaces", "nodes", "persistentvolumes", "events", "componentstatuses"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["get", "list", "watch"]
{{- if .Values.rbac.secrets }}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: {{ toJson $verbs }}
{{- end }}
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets", "replicasets", "controllerrevisions"]
  verbs: {{ toJson $verbs }}
- apiGroups: ["batch"]
  resources: ["jobs", "cronjobs"]
  verbs: {{ toJson $verbs }}
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses", "networkpolicies", "ingressclasses"]
  verbs: {{ toJson $verbs }}
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: {{ toJson $verbs }}
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: {{ toJson $verbs }}
- apiGroups: ["storage.k8s.io"]
  resources: ["storageclasses"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["metrics.k8s.io"]
  resources: ["pods", "nodes"]
  verbs: ["get", "list"]
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["helm.cattle.io"]
  resources: ["helmcharts", "helmchartconfigs"]
  verbs: {{ toJson $verbs }}
- apiGroups: ["keda.sh"]
  resources: ["scaledobjects", "scaledjobs", "triggerauthentications"]
  verbs: {{ toJson $verbs }}
{{- if eq .Values.rbac.preset "operator" }}
- apiGroups: [""]
  resources: ["pods/exec"]
  verbs: ["create", "get"]
- apiGroups: ["apps"]
  resources: ["deployments/scale", "statefulsets/scale", "replicasets/scale"]
  verbs: ["get", "update", "patch"]
- apiGroups: ["batch"]
  resources: ["jobs/status", "cronjobs/status"]
  verbs: ["get"]
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["create", "delete"]
- apiGroups: [""]
  resources: ["nodes"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["pods/eviction"]
  verbs: ["create"]
{{- end }}
{{- with .Values.rbac.extraRules }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Pod annotations: podAnnotations, plus the prometheus.io scrape annotations when metrics are scraped by them. */}}
{{- define "k3s-mcp.podAnnotations" -}}
{{- $annotations := deepCopy (.Values.podAnnotations | default dict) }}
{{- if and .Values.metrics.enabled .Values.metrics.podAnnotations }}
{{- $_ := set $annotations "prometheus.io/scrape" "true" }}
{{- $_ := set $annotations "prometheus.io/port" (toString .Values.server.port) }}
{{- $_ := set $annotations "prometheus.io/path" "/metrics" }}
{{- end }}
{{- with $annotations }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/* The audit log's directory when audit.destination=file. */}}
{{- define "k3s-mcp.auditDir" -}}
/var/log/k3s-mcp
{{- end }}

{{/* Refuse value combinations the server would refuse at start, or that would leave it without verified callers.
     Included by the Deployment, so every render checks them. */}}
{{- define "k3s-mcp.validateAuth" -}}
{{- $oauth := .Values.oauth | default dict }}
{{- if $oauth.issuer }}
{{- if .Values.auth.enabled }}
{{- fail "oauth.issuer is set together with auth.enabled=true: the server refuses to start with both a shared token (K3S_MCP_AUTH_TOKEN) and OAuth (K3S_MCP_OAUTH_ISSUER); set auth.enabled=false to use OAuth" }}
{{- end }}
{{- if not .Values.server.resourceUrl }}
{{- fail "oauth.issuer needs server.resourceUrl: the pod binds 0.0.0.0, so the server cannot tell clients its public URL (K3S_MCP_RESOURCE_URL) for the protected resource metadata; set it to scheme://host[:port] as clients reach the server" }}
{{- end }}
{{- end }}
{{- if and .Values.rbac.impersonation.enabled (not $oauth.issuer) }}
{{- fail "rbac.impersonation.enabled=true needs oauth.issuer: the server impersonates the user named by each caller's verified OAuth access token, and without OAuth it would refuse every tool call" }}
{{- end }}
{{- end }}

{{/* host[:port] of server.resourceUrl, the authority clients name in their Host header; empty when unset. */}}
{{- define "k3s-mcp.resourceHost" -}}
{{- with .Values.server.resourceUrl }}
{{- (urlParse .).host }}
{{- end }}
{{- end }}
