{{/* Names, labels and shared pieces of the cortex chart. */}}

{{- define "cortex.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cortex.fullname" -}}
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

{{- define "cortex.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Resource name of one layer: <fullname>-<layer without "cortex-">, cut to the 63 characters a DNS label allows. */}}
{{- define "cortex.layerName" -}}
{{- printf "%s-%s" (include "cortex.fullname" .root) (trimPrefix "cortex-" .layer) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels of one layer; call with (dict "root" $ "layer" "<layer>"). */}}
{{- define "cortex.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cortex.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .layer }}
{{- end }}

{{- define "cortex.labels" -}}
helm.sh/chart: {{ include "cortex.chart" .root }}
{{ include "cortex.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: cortex
{{- end }}

{{- define "cortex.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Image of a cortex-package layer: its own repository/tag when given, else the chart's image. */}}
{{- define "cortex.layerImage" -}}
{{- if .values.image.repository }}
{{- printf "%s:%s" .values.image.repository (default .root.Chart.AppVersion .values.image.tag) }}
{{- else }}
{{- include "cortex.image" .root }}
{{- end }}
{{- end }}

{{- define "cortex.layerSecretName" -}}
{{- default (printf "%s-layers" (include "cortex.fullname" .)) .Values.layerAuth.existingSecret }}
{{- end }}

{{/* The Secret holding the activator's API token: the operator's own, or the one this chart creates. */}}
{{- define "cortex.activatorTokenSecretName" -}}
{{- default (printf "%s-api-token" (include "cortex.layerName" (dict "root" . "layer" "cortex-activator"))) .Values.activator.apiToken.existingSecret }}
{{- end }}

{{/* Host header values one server accepts besides loopback names, comma-separated: its Service's in-cluster
     names, then `extra`; call with (dict "root" $ "layer" "<layer>" "extra" <list of hosts>). */}}
{{- define "cortex.serviceHosts" -}}
{{- $name := include "cortex.layerName" (dict "root" .root "layer" .layer) }}
{{- $namespace := .root.Release.Namespace }}
{{- $names := list $name (printf "%s.%s" $name $namespace) (printf "%s.%s.svc" $name $namespace) (printf "%s.%s.svc.cluster.local" $name $namespace) }}
{{- join "," (concat $names .extra) }}
{{- end }}

{{/* Host header values the activator accepts besides loopback names: its Service's in-cluster names, then
     activator.allowedHosts. */}}
{{- define "cortex.activatorHosts" -}}
{{- include "cortex.serviceHosts" (dict "root" . "layer" "cortex-activator" "extra" .Values.activator.allowedHosts) }}
{{- end }}

{{/* The bundled MCP server's resource name, computed as the k3s-mcp chart computes it under alias `mcp`. */}}
{{- define "cortex.mcpFullname" -}}
{{- $mcp := .Values.mcp }}
{{- if $mcp.fullnameOverride }}
{{- $mcp.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default "mcp" $mcp.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "cortex.mcpUrl" -}}
{{- if .Values.activator.mcpServer.url }}
{{- .Values.activator.mcpServer.url }}
{{- else }}
{{- $service := (.Values.mcp.service | default dict) }}
{{- $server := (.Values.mcp.server | default dict) }}
{{- printf "http://%s.%s.svc:%v%s" (include "cortex.mcpFullname" .) .Release.Namespace ($service.port | default 8000) ($server.path | default "/mcp") }}
{{- end }}
{{- end }}

{{- define "cortex.mcpTokenSecretName" -}}
{{- if .Values.activator.mcpServer.tokenSecret.name }}
{{- .Values.activator.mcpServer.tokenSecret.name }}
{{- else if .Values.mcp.enabled }}
{{- $auth := (.Values.mcp.auth | default dict) }}
{{- if ne (toString $auth.enabled) "false" }}
{{- default (include "cortex.mcpFullname" .) $auth.existingSecret }}
{{- end }}
{{- end }}
{{- end }}

{{/* Node anti-affinity from a soft/hard/none preset; call with (dict "root" $ "layer" "<layer>" "mode" "soft"). */}}
{{- define "cortex.antiAffinity" -}}
{{- if eq .mode "hard" }}
podAntiAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "cortex.selectorLabels" . | nindent 10 }}
{{- else if eq .mode "soft" }}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "cortex.selectorLabels" . | nindent 12 }}
{{- end }}
{{- end }}

{{/* The replicas line of a scale-to-zero layer's Deployment; call with (dict "root" $ "name" "<deployment>"
     "values" <layer values>). KEDA owns the count: render 0 on first install and the live count afterwards so
     no helm install or upgrade wakes a sleeping layer or puts a busy one to sleep. */}}
{{- define "cortex.scaledReplicas" -}}
{{- if not .root.Values.keda.enabled }}
replicas: {{ .values.replicas }}
{{- else if eq .root.Values.keda.replicasField "live" }}
{{- $live := lookup "apps/v1" "Deployment" .root.Release.Namespace .name }}
{{- if and $live $live.spec (hasKey $live.spec "replicas") }}
replicas: {{ $live.spec.replicas }}
{{- else }}
replicas: 0
{{- end }}
{{- end }}
{{- end }}

{{/* A writable /tmp for Python and llama.cpp, whose root filesystem is read-only. */}}
{{- define "cortex.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end }}

{{/* The five layers that scale from zero: values key, layer name (the `layer` label of the pending metric). */}}
{{- define "cortex.scaledLayers" -}}
reasoningClassifier: reasoning-classifier
reasoningSlm: reasoning-slm
unifiApi: unifi-api
unifiSsh: unifi-ssh
telemetry: cortex-telemetry
{{- end }}
