/**
 * The "try it" alert: an Alertmanager v4 webhook body for a pod that really exists, labelled the
 * way kube-state-metrics and the kubernetes-mixin rule label KubePodCrashLooping.
 */
export function crashLoopAlertPayload(o: { namespace: string; pod: string; container: string; startsAt: Date }): unknown {
  const labels = {
    alertname: 'KubePodCrashLooping',
    container: o.container,
    job: 'kube-state-metrics',
    namespace: o.namespace,
    pod: o.pod,
    reason: 'CrashLoopBackOff',
    severity: 'warning',
  };
  return {
    receiver: 'k8s-healer',
    status: 'firing',
    alerts: [{
      status: 'firing',
      labels,
      annotations: {
        description: `Pod ${o.namespace}/${o.pod} (${o.container}) is in waiting state (reason: "CrashLoopBackOff").`,
        summary: 'Pod is crash looping.',
      },
      startsAt: o.startsAt.toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: '',
      fingerprint: '0000000000000000',
    }],
    groupLabels: { alertname: 'KubePodCrashLooping' },
    commonLabels: labels,
    commonAnnotations: {},
    externalURL: 'http://127.0.0.1/k8s-healer-demo',
    version: '4',
    groupKey: '{}:{alertname="KubePodCrashLooping"}',
    truncatedAlerts: 0,
  };
}
