import { createHash } from 'node:crypto';
import * as z from '../util/schema.js';
import { failTransform, onFirstUse } from '../util/schema.js';
import type { Incident, Symptom } from '../domain/types.js';
import { CLUSTER_SCOPED_KINDS, SymptomSchema } from '../domain/incident-schema.js';
import type { Alert } from './alertmanager.js';

/**
 * Alert → incident. Which alert means which symptom on which kind of object, and which labels
 * name that object, is data (DEFAULT_ALERT_RULES, extended by HEALER_ALERT_MAPPINGS), taken from
 * the rules' real label sets in kubernetes-monitoring/kubernetes-mixin (alerts/*.libsonnet).
 */

export const SUBJECT_KINDS = [
  'Pod',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'Job',
  'CronJob',
  'HorizontalPodAutoscaler',
  'PersistentVolumeClaim',
  'Node',
] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];

export interface AlertRule {
  readonly symptom: Symptom;
  readonly kind: SubjectKind;
  /** The label holding the subject's name (kube-state-metrics uses `job_name` for Jobs: `job` is the scrape job). */
  readonly nameLabel: string;
  /** The label holding its namespace; absent exactly for cluster-scoped kinds (Node). */
  readonly namespaceLabel?: string;
  /** Refines the symptom from one label's value, e.g. a container's waiting reason. */
  readonly symptomFrom?: { readonly label: string; readonly values: Readonly<Record<string, Symptom>> };
}

const pod = (symptom: Symptom): AlertRule => ({ symptom, kind: 'Pod', nameLabel: 'pod', namespaceLabel: 'namespace' });
const namespaced = (symptom: Symptom, kind: SubjectKind, nameLabel: string): AlertRule => ({ symptom, kind, nameLabel, namespaceLabel: 'namespace' });

/** kube-prometheus / kubernetes-mixin alerts the healer understands. */
export const DEFAULT_ALERT_RULES: Readonly<Record<string, AlertRule>> = Object.freeze({
  // apps_alerts.libsonnet
  KubePodCrashLooping: pod('CrashLoopBackOff'),
  KubePodNotReady: pod('PodNotReady'),
  KubeContainerWaiting: {
    ...pod('ContainerWaiting'),
    // kubernetes-mixin 1.5.x keeps kube-state-metrics' `reason` label (CrashLoopBackOff excluded):
    // it refines the symptom (test/e2e/alert-chain.test.ts); a rule that sums it away stays generic.
    symptomFrom: {
      label: 'reason',
      values: {
        CrashLoopBackOff: 'CrashLoopBackOff',
        ImagePullBackOff: 'ImagePullBackOff',
        ErrImagePull: 'ImagePullBackOff',
        CreateContainerConfigError: 'CreateContainerConfigError',
      },
    },
  },
  KubeDeploymentReplicasMismatch: namespaced('DeploymentUnavailable', 'Deployment', 'deployment'),
  KubeDeploymentRolloutStuck: namespaced('DeploymentRolloutStuck', 'Deployment', 'deployment'),
  KubeStatefulSetReplicasMismatch: namespaced('StatefulSetUnavailable', 'StatefulSet', 'statefulset'),
  KubeDaemonSetRolloutStuck: namespaced('DaemonSetRolloutStuck', 'DaemonSet', 'daemonset'),
  KubeJobFailed: namespaced('JobFailed', 'Job', 'job_name'),
  KubeJobNotCompleted: namespaced('JobStuck', 'Job', 'job_name'),
  KubeHpaMaxedOut: namespaced('HpaMaxedOut', 'HorizontalPodAutoscaler', 'horizontalpodautoscaler'),
  // kubelet.libsonnet: the unreachable taint is set when Ready turns Unknown, so both alerts on
  // one node are one incident.
  KubeNodeNotReady: { symptom: 'NodeNotReady', kind: 'Node', nameLabel: 'node' },
  KubeNodeUnreachable: { symptom: 'NodeNotReady', kind: 'Node', nameLabel: 'node' },
  // storage_alerts.libsonnet (kubelet volume stats carry namespace + persistentvolumeclaim + node)
  KubePersistentVolumeFillingUp: namespaced('PersistentVolumeFillingUp', 'PersistentVolumeClaim', 'persistentvolumeclaim'),
} satisfies Record<string, AlertRule>);

/**
 * For alerts no rule knows: the first of these labels present names a subject for a page-only
 * incident. Workload labels come before `pod` because an exporter's own pod can leak into an
 * alert as a target label (kube-state-metrics without kube-prometheus's labeldrop); `pod` comes
 * before `node` because pod alerts often carry the node too. `job` is never a subject: it is
 * Prometheus' scrape job.
 */
const UNKNOWN_SUBJECT_LABELS: readonly (readonly [string, SubjectKind])[] = [
  ['persistentvolumeclaim', 'PersistentVolumeClaim'],
  ['job_name', 'Job'],
  ['deployment', 'Deployment'],
  ['statefulset', 'StatefulSet'],
  ['daemonset', 'DaemonSet'],
  ['replicaset', 'ReplicaSet'],
  ['cronjob', 'CronJob'],
  ['horizontalpodautoscaler', 'HorizontalPodAutoscaler'],
  ['pod', 'Pod'],
  ['node', 'Node'],
];

// ---------------------------------------------------------------------------------------------
// Configured mappings (HEALER_ALERT_MAPPINGS), validated at config load.

/**
 * `{"AlertName": {"symptom": "...", "kind": "...", "nameLabel": "...", "namespaceLabel": "..."}}`,
 * merged over the defaults. Built on first use: only a stack with HEALER_ALERT_MAPPINGS parses one.
 */
const alertMappingsSchema = onFirstUse(() => {
  const labelName = z.string().check(z.regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,127}$/, 'must be a Prometheus label name'));
  const alertRule = z.pipe(
    z.strictObject({
      symptom: SymptomSchema,
      kind: z.enum(SUBJECT_KINDS),
      nameLabel: labelName,
      namespaceLabel: z.optional(labelName),
      symptomFrom: z.optional(
        z.strictObject({
          label: labelName,
          values: z
            .record(z.string().check(z.minLength(1), z.maxLength(256)), SymptomSchema)
            .check(z.refine((m) => Object.keys(m).length <= 64, { message: 'at most 64 values' })),
        }),
      ),
    }),
    z.transform((rule, ctx): AlertRule => {
      const clusterScoped = CLUSTER_SCOPED_KINDS.has(rule.kind);
      if (clusterScoped && rule.namespaceLabel !== undefined) {
        return failTransform(ctx, `${rule.kind} is cluster-scoped: remove namespaceLabel`, ['namespaceLabel']);
      }
      const { symptom, kind, nameLabel, symptomFrom } = rule;
      // Namespaced kinds read `namespace` unless told otherwise.
      return {
        symptom,
        kind,
        nameLabel,
        ...(clusterScoped ? {} : { namespaceLabel: rule.namespaceLabel ?? 'namespace' }),
        ...(symptomFrom ? { symptomFrom } : {}),
      };
    }),
  );
  return z
    .record(z.string().check(z.minLength(1), z.maxLength(256)), alertRule)
    .check(z.refine((m) => Object.keys(m).length <= 500, { message: 'at most 500 alert mappings' }));
});
export type AlertMappings = Readonly<Record<string, AlertRule>>;

/** Parses the HEALER_ALERT_MAPPINGS text; the error names what is wrong, never echoes secrets (there are none here). */
export function parseAlertMappings(text: string): { ok: true; mappings: AlertMappings } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: 'is not valid JSON' };
  }
  const parsed = alertMappingsSchema().safeParse(json);
  if (!parsed.success) {
    return { ok: false, error: parsed.error.issues.slice(0, 5).map((i) => `${i.path.map((p) => String(p).slice(0, 64)).join('.') || '(root)'}: ${i.message}`).join('; ') };
  }
  return { ok: true, mappings: Object.freeze({ ...parsed.data }) };
}

/** The rule table: defaults, then configured mappings (which may override a default). A Map, so `constructor` is just a name. */
export function alertRules(mappings: AlertMappings = {}): ReadonlyMap<string, AlertRule> {
  return new Map([...Object.entries(DEFAULT_ALERT_RULES), ...Object.entries(mappings)]);
}
const DEFAULT_RULES = alertRules();

// ---------------------------------------------------------------------------------------------
// Mapping

/** DNS-1123 subdomain (most object names) and label (namespaces), as the API server validates them. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const isObjectName = (s: string): boolean => s.length <= 253 && DNS_SUBDOMAIN.test(s);
export const isNamespaceName = (s: string): boolean => s.length <= 63 && DNS_LABEL.test(s);

/** Stable id: the same subject with the same symptom in the same cluster is one incident. */
export function incidentId(cluster: string, namespace: string, kind: string, name: string, symptom: Symptom, discriminator?: string): string {
  const parts = [cluster, namespace, kind, name, symptom];
  if (discriminator !== undefined) parts.push(discriminator);
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

/** Why an alert did not become an incident: a fixed vocabulary, counted in the webhook's answer. */
export const SKIP_REASONS = ['resolved', 'other-cluster', 'no-cluster-label', 'no-subject-label', 'missing-label', 'invalid-label'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export type AlertMapping =
  | { readonly incident: Incident }
  | { readonly skipped: string; readonly reason: SkipReason; readonly resolved?: true };

/** A reason for skipping, with the code it is counted under. */
interface Skip {
  readonly text: string;
  readonly reason: SkipReason;
}

/** Own string properties only: a label named `constructor` or `__proto__` is just a label. */
function own(map: Readonly<Record<string, string>>, key: string): string | undefined {
  if (!Object.hasOwn(map, key)) return undefined;
  const value = map[key];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Clips untrusted text to at most `max` UTF-16 units (ellipsis included) without splitting a surrogate pair. */
function clip(text: string, max = 100): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max - 1);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `${cut}…`;
}

const SEVERITY = /^[A-Za-z0-9_.-]{1,64}$/;

/** Labels and annotations ride on the queue message (SQS: 256 KiB): bounded per value and in total. */
function boundedCopy(map: Readonly<Record<string, string>>, first: readonly string[], maxEntries = 64, maxTotal = 16 * 1024): Record<string, string> {
  const keys = [...first.filter((k) => Object.hasOwn(map, k)), ...Object.keys(map).filter((k) => !first.includes(k))];
  const out: [string, string][] = [];
  let total = 0;
  for (const key of keys) {
    const value = map[key];
    if (typeof value !== 'string') continue;
    const kept = clip(value, 1024);
    total += key.length + kept.length;
    if (out.length >= maxEntries || total > maxTotal) break;
    out.push([key, kept]);
  }
  return Object.fromEntries(out);
}

interface Subject {
  readonly kind: SubjectKind;
  readonly name: string;
  readonly namespace: string;
  readonly labels: readonly string[];
}

/** Reads the subject a rule names; a reason when the labels are missing or not Kubernetes names. */
function subjectOf(labels: Readonly<Record<string, string>>, kind: SubjectKind, nameLabel: string, namespaceLabel: string | undefined, what: string): Subject | Skip {
  const name = own(labels, nameLabel);
  if (name === undefined) return { text: `${what} has no ${nameLabel} label`, reason: 'missing-label' };
  if (!isObjectName(name)) return { text: `${what} has an invalid ${kind} name in ${nameLabel}`, reason: 'invalid-label' };
  if (namespaceLabel === undefined) return { kind, name, namespace: '', labels: [nameLabel] };
  const namespace = own(labels, namespaceLabel);
  if (namespace === undefined) return { text: `${what} names ${kind} ${clip(name, 63)} but has no ${namespaceLabel} label`, reason: 'missing-label' };
  if (!isNamespaceName(namespace)) return { text: `${what} has an invalid namespace in ${namespaceLabel}`, reason: 'invalid-label' };
  return { kind, name, namespace, labels: [nameLabel, namespaceLabel] };
}

/**
 * Turns one alert into an incident, or says why not. Resolved alerts never become incidents:
 * acting on something that has already cleared is how self-healing causes outages. Alerts no
 * rule knows become page-only incidents (symptom Unknown) when a label names a subject.
 */
export function alertToIncident(alert: Alert, clusters: string | readonly string[], nowIso: string, rules: ReadonlyMap<string, AlertRule> = DEFAULT_RULES): AlertMapping {
  const labels = alert.labels;
  const alertname = own(labels, 'alertname') ?? '';
  const what = clip(alertname || 'alert');
  if (alert.status !== 'firing') return { skipped: `${what} is resolved`, reason: 'resolved', resolved: true };
  const routed = routeToCluster(own(labels, 'cluster'), typeof clusters === 'string' ? [clusters] : clusters, what);
  if (typeof routed !== 'string') return routed;
  const cluster = routed;

  const rule = rules.get(alertname);
  let symptom: Symptom;
  let subject: Subject | Skip;
  if (rule) {
    subject = subjectOf(labels, rule.kind, rule.nameLabel, rule.namespaceLabel, what);
    const refined = rule.symptomFrom ? own(labels, rule.symptomFrom.label) : undefined;
    const values = rule.symptomFrom?.values;
    symptom = refined !== undefined && values !== undefined && Object.hasOwn(values, refined) ? (values[refined] ?? rule.symptom) : rule.symptom;
  } else {
    const found = UNKNOWN_SUBJECT_LABELS.find(([label]) => own(labels, label) !== undefined);
    if (!found) {
      return { skipped: `${what} has no subject label (${UNKNOWN_SUBJECT_LABELS.map(([l]) => l).join(', ')})`, reason: 'no-subject-label' };
    }
    const [label, kind] = found;
    subject = subjectOf(labels, kind, label, CLUSTER_SCOPED_KINDS.has(kind) ? undefined : 'namespace', what);
    symptom = 'Unknown';
  }
  if ('reason' in subject) return { skipped: subject.text, reason: subject.reason };

  const severity = own(labels, 'severity');
  return {
    incident: {
      // Two different unknown alerts on one object are two pages, not one.
      id: incidentId(cluster, subject.namespace, subject.kind, subject.name, symptom, symptom === 'Unknown' ? alertname : undefined),
      cluster,
      source: 'alertmanager',
      symptom,
      subject: { kind: subject.kind, name: subject.name, namespace: subject.namespace },
      ...(alertname ? { alertname: clip(alertname, 256) } : {}),
      severity: severity !== undefined && SEVERITY.test(severity) ? severity : 'warning',
      labels: boundedCopy(labels, ['alertname', 'severity', 'cluster', ...subject.labels]),
      annotations: boundedCopy(alert.annotations, ['summary', 'description', 'runbook_url']),
      detectedAt: nowIso,
    },
  };
}

export interface MappedAlerts {
  readonly incidents: readonly Incident[];
  /** One reason per alert that did not become an incident (resolved ones included). */
  readonly skipped: readonly string[];
  /** How many alerts were skipped for each reason (only reasons that occurred). */
  readonly skippedByReason: Readonly<Partial<Record<SkipReason, number>>>;
  /** Resolved alerts: reported, never acted on. */
  readonly resolved: number;
}

/**
 * Which configured cluster an alert is for, by its own `cluster` label (Prometheus puts its
 * external labels on every alert it sends, so each alert carries it). The payload's commonLabels
 * are never read: they are only the labels all alerts share, and one payload may mix clusters.
 * No label is accepted only when one cluster is configured: with several, guessing would act on
 * the wrong one.
 */
export function routeToCluster(label: string | undefined, clusters: readonly string[], what: string): string | { skipped: string; reason: SkipReason } {
  if (label === undefined) {
    const only = clusters.length === 1 ? clusters[0] : undefined;
    return only ?? { skipped: `${what} has no cluster label and this stack serves ${clusters.length} clusters`, reason: 'no-cluster-label' };
  }
  if (clusters.includes(label)) return label;
  const served = clusters.length === 1 ? `not ${clusters[0] ?? ''}` : `which is not one of ${clusters.slice(0, 10).join(', ')}`;
  return { skipped: `${what} is for cluster ${clip(label)}, ${served}`, reason: 'other-cluster' };
}

/** Maps every alert of a payload; pure, and never throws for any alert the schema accepted. */
export function alertsToIncidents(alerts: readonly Alert[], opts: { clusters: string | readonly string[]; nowIso: string; mappings?: AlertMappings }): MappedAlerts {
  const rules = opts.mappings && Object.keys(opts.mappings).length > 0 ? alertRules(opts.mappings) : DEFAULT_RULES;
  const incidents: Incident[] = [];
  const skipped: string[] = [];
  const skippedByReason: Partial<Record<SkipReason, number>> = {};
  let resolved = 0;
  for (const alert of alerts) {
    const mapped = alertToIncident(alert, opts.clusters, opts.nowIso, rules);
    if ('incident' in mapped) {
      incidents.push(mapped.incident);
    } else {
      skipped.push(mapped.skipped);
      skippedByReason[mapped.reason] = (skippedByReason[mapped.reason] ?? 0) + 1;
      if (mapped.resolved) resolved += 1;
    }
  }
  return { incidents, skipped, skippedByReason, resolved };
}
