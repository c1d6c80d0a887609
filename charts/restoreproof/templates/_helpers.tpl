{{- define "restoreproof.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "restoreproof.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "restoreproof.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "restoreproof.serviceAccountName" -}}
{{- default (include "restoreproof.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "restoreproof.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "restoreproof.reportsClaim" -}}
{{- default (printf "%s-reports" (include "restoreproof.fullname" .)) .Values.reports.pvc.existingClaim -}}
{{- end -}}

{{/* A drill as the ConfigMap carries it: the chart's Pushgateway and webhook added where the drill names none. */}}
{{- define "restoreproof.drill" -}}
{{- $root := .root -}}
{{- $drill := deepCopy .drill -}}
{{- $spec := get $drill "spec" | default dict -}}
{{- $report := get $spec "report" | default dict -}}
{{- with $root.Values.notify.pushgateway.url -}}
{{- if not (hasKey $report "pushgateway") -}}
{{- $pg := dict "url" . -}}
{{- with $root.Values.notify.pushgateway.job }}{{ $_ := set $pg "job" . }}{{ end -}}
{{- $_ := set $report "pushgateway" $pg -}}
{{- end -}}
{{- end -}}
{{- if and (not (hasKey $report "webhook")) (or $root.Values.notify.webhook.url $root.Values.notify.webhook.existingSecret) -}}
{{- $_ := set $report "webhook" (dict "url" (ternary "${RESTOREPROOF_WEBHOOK_URL}" $root.Values.notify.webhook.url (not (empty $root.Values.notify.webhook.existingSecret)))) -}}
{{- end -}}
{{- if $report -}}{{- $_ := set $spec "report" $report -}}{{- end -}}
{{- $_ := set $drill "spec" $spec -}}
{{- /* JSON (valid YAML): every string stays quoted, so a value such as "${PG_VERSION:-15}" is
       interpolated as a string, as it was written, and not retyped to a number. */ -}}
{{- toPrettyJson $drill -}}
{{- end -}}

{{/* The harness pod: shared by the drill CronJobs and the gc CronJob. */}}
{{- define "restoreproof.podSpec" -}}
{{- $root := .root -}}
serviceAccountName: {{ include "restoreproof.serviceAccountName" $root }}
restartPolicy: Never
# SIGTERM on deadline or eviction: the harness tears its namespace down before exiting.
terminationGracePeriodSeconds: {{ $root.Values.terminationGracePeriodSeconds }}
{{- if $root.Values.hostNetwork }}
hostNetwork: true
dnsPolicy: ClusterFirstWithHostNet
{{- end }}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  fsGroup: 10001
  seccompProfile: { type: RuntimeDefault }
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: restoreproof
    image: {{ include "restoreproof.image" $root }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    args: {{- toYaml .args | nindent 6 }}
    env:
      - { name: RESTOREPROOF_KUBE_NAMESPACE_PREFIX, value: {{ $root.Values.namespacePrefix | quote }} }
      - { name: RESTOREPROOF_TMPDIR, value: /tmp }
      {{- range $engine, $image := $root.Values.images }}
      - { name: {{ printf "RESTOREPROOF_IMAGE_%s" (upper $engine) }}, value: {{ $image | quote }} }
      {{- end }}
      {{- if $root.Values.signingKey.existingSecret }}
      - { name: RESTOREPROOF_SIGNING_KEY_FILE, value: {{ printf "/etc/restoreproof/signing/%s" $root.Values.signingKey.key | quote }} }
      {{- end }}
      {{- if $root.Values.notify.webhook.existingSecret }}
      - name: RESTOREPROOF_WEBHOOK_URL
        valueFrom: { secretKeyRef: { name: {{ $root.Values.notify.webhook.existingSecret | quote }}, key: {{ $root.Values.notify.webhook.key | quote }} } }
      {{- end }}
      {{- range $name, $value := $root.Values.env }}
      - { name: {{ $name }}, value: {{ $value | quote }} }
      {{- end }}
    {{- with $root.Values.sourceCredentials.existingSecrets }}
    envFrom:
      {{- range . }}
      - secretRef: { name: {{ . | quote }} }
      {{- end }}
    {{- end }}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: { drop: [ALL] }
    resources: {{- toYaml $root.Values.resources | nindent 6 }}
    volumeMounts:
      - { name: drills, mountPath: /drills, readOnly: true }
      - { name: reports, mountPath: /reports }
      - { name: tmp, mountPath: /tmp }
      {{- if $root.Values.signingKey.existingSecret }}
      - { name: signing-key, mountPath: /etc/restoreproof/signing, readOnly: true }
      {{- end }}
      {{- with $root.Values.extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
volumes:
  - name: drills
    configMap: { name: {{ printf "%s-drills" (include "restoreproof.fullname" $root) }} }
  - name: reports
    {{- if $root.Values.reports.pvc.enabled }}
    persistentVolumeClaim: { claimName: {{ include "restoreproof.reportsClaim" $root }} }
    {{- else }}
    emptyDir: {}
    {{- end }}
  - name: tmp
    emptyDir: {}
  {{- if $root.Values.signingKey.existingSecret }}
  - name: signing-key
    secret: { secretName: {{ $root.Values.signingKey.existingSecret | quote }}, defaultMode: 256 }   # 0400
  {{- end }}
  {{- with $root.Values.extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}
