import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAlertmanagerBody, type AlertmanagerPayload } from '../../lib/intake/alertmanager.js';
import {
  DEFAULT_ALERT_RULES,
  alertsToIncidents,
  incidentId,
  isNamespaceName,
  isObjectName,
  parseAlertMappings,
  type AlertMappings,
} from '../../lib/intake/incidents.js';
import { authenticate } from '../../lib/intake/webhook.js';
import { IncidentSchema, SYMPTOMS, parseIncident } from '../../lib/domain/incident-schema.js';
import { ConfigError, loadConfig } from '../../lib/config/config.js';
import type { Incident } from '../../lib/domain/types.js';

/**
 * Alertmanager intake without a server: parse (schema, bounds, clear 4xx) and map (alert →
 * incident) over payloads captured from a real Alertmanager, and over hostile input.
 */
const FIXTURES = new URL('../fixtures/alertmanager/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8');
const LIMITS = { maxBytes: 1024 * 1024, maxAlerts: 1000 };
const NOW = '2026-11-25T04:00:00.000Z';
const NODE = 'ip-10-0-3-17.eu-west-1.compute.internal';

function parse(body: string, limits = LIMITS): AlertmanagerPayload {
  const parsed = parseAlertmanagerBody(body, limits);
  if (!parsed.ok) throw new Error(`fixture rejected: ${parsed.error}`);
  return parsed.payload;
}

const map = (payload: AlertmanagerPayload, cluster = 'local', mappings?: AlertMappings) =>
  alertsToIncidents(payload.alerts, { clusters: cluster, nowIso: NOW, ...(mappings ? { mappings } : {}) });

/** A v4 payload around the given alerts (for hand-made cases; fixtures are real captures). */
function payloadOf(alerts: readonly { labels: Record<string, string>; status?: string }[]): string {
  return JSON.stringify({
    version: '4',
    groupKey: '{}:{}',
    status: 'firing',
    receiver: 'healer',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts: alerts.map((a) => ({ status: a.status ?? 'firing', labels: a.labels, annotations: {}, startsAt: NOW, endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: 'abc' })),
  });
}

/** What every incident leaving intake must satisfy, whatever the input. */
function expectValidIncident(incident: Incident): void {
  expect(IncidentSchema.safeParse(incident).success).toBe(true);
  expect(isObjectName(incident.subject.name)).toBe(true);
  if (incident.subject.kind === 'Node') expect(incident.subject.namespace).toBe('');
  else expect(isNamespaceName(incident.subject.namespace)).toBe(true);
  // It must fit on the queue (SQS: 256 KiB) with room to spare.
  expect(Buffer.byteLength(JSON.stringify(incident))).toBeLessThan(64 * 1024);
  // And survive the trip: the worker parses queue messages with the same schema.
  expect(parseIncident(JSON.stringify(incident)).ok).toBe(true);
}

describe('alert → incident mapping, on payloads captured from a real Alertmanager', () => {
  const table = [
    ['KubePodCrashLooping', 'CrashLoopBackOff', 'Pod', 'checkout-7d4b9c6f5-x2x9q', 'shop', 'warning'],
    ['KubePodNotReady', 'PodNotReady', 'Pod', 'cart-6f7b8c9d4-p8k2m', 'shop', 'warning'],
    ['KubeContainerWaiting', 'ContainerWaiting', 'Pod', 'search-5c6d7e8f9-q4w5e', 'shop', 'warning'],
    ['KubeDeploymentReplicasMismatch', 'DeploymentUnavailable', 'Deployment', 'checkout', 'shop', 'warning'],
    ['KubeDeploymentRolloutStuck', 'DeploymentRolloutStuck', 'Deployment', 'payments', 'shop', 'warning'],
    ['KubeStatefulSetReplicasMismatch', 'StatefulSetUnavailable', 'StatefulSet', 'postgres', 'data', 'warning'],
    ['KubeDaemonSetRolloutStuck', 'DaemonSetRolloutStuck', 'DaemonSet', 'fluent-bit', 'logging', 'warning'],
    ['KubeJobFailed', 'JobFailed', 'Job', 'nightly-report-28911520', 'batch', 'warning'],
    ['KubeJobNotCompleted', 'JobStuck', 'Job', 'reindex-28911000', 'batch', 'warning'],
    ['KubeNodeNotReady', 'NodeNotReady', 'Node', NODE, '', 'warning'],
    ['KubeNodeUnreachable', 'NodeNotReady', 'Node', NODE, '', 'warning'],
    ['KubeHpaMaxedOut', 'HpaMaxedOut', 'HorizontalPodAutoscaler', 'checkout', 'shop', 'warning'],
    ['KubePersistentVolumeFillingUp', 'PersistentVolumeFillingUp', 'PersistentVolumeClaim', 'data-postgres-0', 'data', 'critical'],
    ['unknown-CPUThrottlingHigh', 'Unknown', 'Pod', 'api-6c7d8e9f0-fghij', 'shop', 'info'],
  ] as const;

  it.each(table)('%s → %s on %s %s', (file, symptom, kind, name, namespace, severity) => {
    // Prepare
    const payload = parse(fixture(`${file}.json`));
    // Act
    const mapped = map(payload);
    // Assess
    expect(mapped.skipped).toEqual([]);
    expect(mapped.incidents).toHaveLength(1);
    const incident = mapped.incidents[0]!;
    expect(incident).toMatchObject({ symptom, subject: { kind, name, namespace }, severity, source: 'alertmanager', cluster: 'local', detectedAt: NOW });
    expect(incident.alertname).toBe(payload.alerts[0]!.labels['alertname']);
    expect(incident.labels).toEqual(payload.alerts[0]!.labels);
    expect(incident.annotations).toEqual(payload.alerts[0]!.annotations);
    expectValidIncident(incident);
  });

  it('has a captured fixture for every default rule, and a row for every fixture', () => {
    const files = readdirSync(FIXTURES).filter((f) => /^[A-Z].*\.json$/.test(f)).map((f) => f.replace(/\.json$/, ''));
    expect(files.sort()).toEqual(Object.keys(DEFAULT_ALERT_RULES).sort());
    expect(table.map((row) => row[0]).filter((f) => !f.startsWith('unknown-')).sort()).toEqual(files.sort());
  });

  it('never acts on a resolved alert: counted as resolved, no incident', () => {
    // Prepare
    const payload = parse(fixture('resolved-KubePodCrashLooping.json'));
    // Act
    const mapped = map(payload);
    // Assess
    expect(payload.status).toBe('resolved');
    expect(mapped).toEqual({ incidents: [], skipped: ['KubePodCrashLooping is resolved'], skippedByReason: { resolved: 1 }, resolved: 1 });
  });

  it('skips an alert with no subject label (Watchdog) and says why', () => {
    const mapped = map(parse(fixture('no-subject-Watchdog.json')));
    expect(mapped.incidents).toEqual([]);
    expect(mapped.skipped).toEqual([expect.stringMatching(/^Watchdog has no subject label \(.*pod.*node\)$/)]);
    expect(mapped.resolved).toBe(0);
  });

  it('maps the hand-written mixed payload: two firing, one resolved', () => {
    const mapped = map(parse(fixture('kube-pod-crashlooping.json')));
    expect(mapped.incidents.map((i) => i.subject.name)).toEqual(['web-7d4b9c6f5-x2x9q', 'worker-5f6d7c8b9-abcde']);
    expect(mapped.resolved).toBe(1);
  });

  it('makes KubeNodeNotReady and KubeNodeUnreachable on one node one incident', () => {
    const notReady = map(parse(fixture('KubeNodeNotReady.json'))).incidents[0]!;
    const unreachable = map(parse(fixture('KubeNodeUnreachable.json'))).incidents[0]!;
    expect(unreachable.id).toBe(notReady.id);
  });

  it('reads the Job from job_name, never from job (the scrape job)', () => {
    // Prepare: kube-state-metrics' job label is present, job_name is not.
    const body = payloadOf([{ labels: { alertname: 'KubeJobFailed', namespace: 'batch', job: 'kube-state-metrics' } }]);
    // Act
    const mapped = map(parse(body));
    // Assess
    expect(mapped.incidents).toEqual([]);
    expect(mapped.skipped).toEqual(['KubeJobFailed has no job_name label']);
  });

  it('takes the precise symptom from a reason label when a site rule keeps it', () => {
    const body = payloadOf([
      { labels: { alertname: 'KubeContainerWaiting', namespace: 'shop', pod: 'web-1', container: 'web', reason: 'ErrImagePull' } },
      { labels: { alertname: 'KubeContainerWaiting', namespace: 'shop', pod: 'web-2', container: 'web', reason: 'constructor' } },
    ]);
    expect(map(parse(body)).incidents.map((i) => i.symptom)).toEqual(['ImagePullBackOff', 'ContainerWaiting']);
  });

  it('skips alerts for another cluster and maps those for this one', () => {
    const labels = { alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'web-1' };
    const body = payloadOf([{ labels: { ...labels, cluster: 'prod-eu' } }, { labels: { ...labels, cluster: 'local' } }, { labels }]);
    const mapped = map(parse(body));
    expect(mapped.incidents).toHaveLength(2);
    expect(mapped.skipped).toEqual(['KubePodCrashLooping is for cluster prod-eu, not local']);
  });

  it('routes each alert by its own cluster label to that cluster of the registry', () => {
    // Prepare: the same alert on two clusters, one on a cluster the stack does not serve, one with no label.
    const labels = { alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'web-1' };
    const body = payloadOf([{ labels: { ...labels, cluster: 'prod-eu' } }, { labels: { ...labels, cluster: 'prod-us' } }, { labels: { ...labels, cluster: 'prod-asia' } }, { labels }]);
    // Act
    const mapped = alertsToIncidents(parse(body).alerts, { clusters: ['prod-eu', 'prod-us'], nowIso: NOW });
    // Assess: two incidents with distinct ids, one per cluster; the other two refused with reasons
    expect(mapped.incidents.map((i) => i.cluster)).toEqual(['prod-eu', 'prod-us']);
    expect(new Set(mapped.incidents.map((i) => i.id)).size).toBe(2);
    expect(mapped.incidents[0]?.id).toBe(incidentId('prod-eu', 'shop', 'Pod', 'web-1', 'CrashLoopBackOff'));
    expect(mapped.skipped).toEqual([
      'KubePodCrashLooping is for cluster prod-asia, which is not one of prod-eu, prod-us',
      'KubePodCrashLooping has no cluster label and this stack serves 2 clusters',
    ]);
    expect(mapped.skippedByReason).toEqual({ 'other-cluster': 1, 'no-cluster-label': 1 });
  });

  it('reads no cluster from commonLabels: an alert without its own label is refused when several clusters are served', () => {
    // Prepare: a payload whose commonLabels claim a cluster the alert itself does not carry
    const payload = parse(payloadOf([{ labels: { alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'web-1' } }]));
    const withCommon = { ...payload, commonLabels: { cluster: 'prod-eu' } };
    // Act
    const mapped = alertsToIncidents(withCommon.alerts, { clusters: ['prod-eu', 'prod-us'], nowIso: NOW });
    // Assess
    expect(mapped.incidents).toEqual([]);
    expect(mapped.skippedByReason).toEqual({ 'no-cluster-label': 1 });
  });

  it.each([
    ['an upper-case pod name', { pod: 'Web-1', namespace: 'shop' }, /invalid Pod name/],
    ['a namespace with a dot', { pod: 'web-1', namespace: 'sh.op' }, /invalid namespace/],
    ['a namespace longer than 63', { pod: 'web-1', namespace: 'a'.repeat(64) }, /invalid namespace/],
    ['a name longer than 253', { pod: 'a'.repeat(254), namespace: 'shop' }, /invalid Pod name/],
    ['a name with an empty DNS label', { pod: 'web..1', namespace: 'shop' }, /invalid Pod name/],
    ['a path in the name', { pod: '../secrets', namespace: 'shop' }, /invalid Pod name/],
    ['a look-alike unicode name', { pod: 'wеb-1', namespace: 'shop' }, /invalid Pod name/],
    ['no namespace', { pod: 'web-1' }, /no namespace label/],
  ])('skips a mapped alert with %s', (_what, labels, reason) => {
    const mapped = map(parse(payloadOf([{ labels: { alertname: 'KubePodCrashLooping', ...labels } }])));
    expect(mapped.incidents).toEqual([]);
    expect(mapped.skipped[0]).toMatch(reason);
  });

  it('counts every skipped alert by its reason', () => {
    // Prepare: one alert for each way an alert is skipped, one of them twice, and one that maps.
    const crash = { alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'web-1' };
    const body = payloadOf([
      { labels: crash, status: 'resolved' },
      { labels: { ...crash, cluster: 'prod-eu' } },
      { labels: { ...crash, cluster: 'prod-us' } },
      { labels: { alertname: 'Watchdog' } },
      { labels: { alertname: 'KubePodCrashLooping', namespace: 'shop' } },
      { labels: { ...crash, pod: 'Web-1' } },
      { labels: crash },
    ]);

    // Act
    const mapped = map(parse(body));

    // Assess: the counts add up to the reasons, one per skipped alert.
    expect(mapped.incidents).toHaveLength(1);
    expect(mapped.skippedByReason).toEqual({ resolved: 1, 'other-cluster': 2, 'no-subject-label': 1, 'missing-label': 1, 'invalid-label': 1 });
    expect(Object.values(mapped.skippedByReason).reduce((a, b) => a + b, 0)).toBe(mapped.skipped.length);
  });

  it('names the subject of an unknown alert by the most specific workload label', () => {
    const body = payloadOf([
      // An exporter's own pod leaked in as a target label: the Deployment is the subject.
      { labels: { alertname: 'KubeDeploymentGenerationMismatch', namespace: 'shop', deployment: 'web', pod: 'kube-state-metrics-6d9b5b7b5-abcde' } },
      { labels: { alertname: 'KubeletTooManyPods', node: NODE } },
      { labels: { alertname: 'KubeQuotaExceeded', namespace: 'shop', resource: 'cpu' } },
    ]);
    const mapped = map(parse(body));
    expect(mapped.incidents.map((i) => [i.symptom, i.subject.kind, i.subject.name, i.subject.namespace])).toEqual([
      ['Unknown', 'Deployment', 'web', 'shop'],
      ['Unknown', 'Node', NODE, ''],
    ]);
    expect(mapped.skipped).toEqual([expect.stringMatching(/^KubeQuotaExceeded has no subject label/)]);
  });

  it('keeps two different unknown alerts on one pod as two incidents (two pages)', () => {
    const labels = { namespace: 'shop', pod: 'web-1' };
    const mapped = map(parse(payloadOf([{ labels: { alertname: 'A', ...labels } }, { labels: { alertname: 'B', ...labels } }])));
    expect(new Set(mapped.incidents.map((i) => i.id)).size).toBe(2);
  });
});

describe('HEALER_ALERT_MAPPINGS', () => {
  const base = { HEALER_CLUSTER_NAME: 'local' };

  it('extends and overrides the defaults; a namespaced kind reads `namespace` by default', () => {
    // Prepare
    const config = loadConfig({
      ...base,
      HEALER_ALERT_MAPPINGS: JSON.stringify({
        AppQueueStuck: { symptom: 'DeploymentUnavailable', kind: 'Deployment', nameLabel: 'app_deployment' },
        KubeNodeUnreachable: { symptom: 'NodePressure', kind: 'Node', nameLabel: 'node' },
        constructor: { symptom: 'PodNotReady', kind: 'Pod', nameLabel: 'pod', namespaceLabel: 'exported_namespace' },
      }),
    });
    const body = payloadOf([
      { labels: { alertname: 'AppQueueStuck', namespace: 'shop', app_deployment: 'queue-worker' } },
      { labels: { alertname: 'KubeNodeUnreachable', node: NODE } },
      { labels: { alertname: 'constructor', exported_namespace: 'shop', pod: 'web-1' } },
      { labels: { alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'web-2' } },
    ]);
    // Act
    const mapped = map(parse(body), 'local', config.settings.intake.alertMappings);
    // Assess
    expect(mapped.incidents.map((i) => [i.symptom, i.subject.kind, i.subject.name, i.subject.namespace])).toEqual([
      ['DeploymentUnavailable', 'Deployment', 'queue-worker', 'shop'],
      ['NodePressure', 'Node', NODE, ''],
      ['PodNotReady', 'Pod', 'web-1', 'shop'],
      ['CrashLoopBackOff', 'Pod', 'web-2', 'shop'],
    ]);
  });

  it.each([
    ['not JSON', '{"A": ', /HEALER_ALERT_MAPPINGS: is not valid JSON/],
    ['an unknown symptom', JSON.stringify({ A: { symptom: 'Melted', kind: 'Pod', nameLabel: 'pod' } }), /HEALER_ALERT_MAPPINGS: A\.symptom/],
    ['an unknown kind', JSON.stringify({ A: { symptom: 'Unknown', kind: 'Secret', nameLabel: 'secret' } }), /HEALER_ALERT_MAPPINGS: A\.kind/],
    ['a namespace label on a Node', JSON.stringify({ A: { symptom: 'NodeNotReady', kind: 'Node', nameLabel: 'node', namespaceLabel: 'namespace' } }), /cluster-scoped/],
    ['a bad label name', JSON.stringify({ A: { symptom: 'Unknown', kind: 'Pod', nameLabel: 'pod-name' } }), /A\.nameLabel: must be a Prometheus label name/],
    ['an unexpected key', JSON.stringify({ A: { symptom: 'Unknown', kind: 'Pod', nameLabel: 'pod', action: 'delete' } }), /HEALER_ALERT_MAPPINGS: A/],
    ['an array', '[]', /HEALER_ALERT_MAPPINGS/],
  ])('refuses %s with a ConfigError naming the variable', (_what, value, message) => {
    expect(() => loadConfig({ ...base, HEALER_ALERT_MAPPINGS: value })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, HEALER_ALERT_MAPPINGS: value })).toThrow(message);
  });

  it('is empty when unset', () => {
    expect(loadConfig(base).settings.intake.alertMappings).toEqual({});
    expect(parseAlertMappings('{}')).toEqual({ ok: true, mappings: {} });
  });
});

describe('webhook authentication', () => {
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
  const both = { token: 'the-token', basic: 'alertmanager:s3cr:et' };

  it.each([
    ['a good bearer token', 'Bearer the-token', both, { ok: true }],
    ['good basic credentials (password with a colon)', basic('alertmanager:s3cr:et'), both, { ok: true }],
    ['a lower-case scheme', 'bearer the-token', both, { ok: true }],
    ['no header', undefined, both, { ok: false, status: 401 }],
    ['an empty header', '  ', both, { ok: false, status: 401 }],
    ['a wrong token', 'Bearer not-the-token', both, { ok: false, status: 403 }],
    ['a token that is a prefix', 'Bearer the-toke', both, { ok: false, status: 403 }],
    ['wrong basic password', basic('alertmanager:wrong'), both, { ok: false, status: 403 }],
    ['wrong basic user', basic('someone:s3cr:et'), both, { ok: false, status: 403 }],
    ['basic without a colon', basic('alertmanager'), both, { ok: false, status: 401 }],
    ['basic that is not base64', 'Basic ***', both, { ok: false, status: 401 }],
    ['basic when only bearer is configured', basic('alertmanager:s3cr:et'), { token: 'the-token' }, { ok: false, status: 401 }],
    ['bearer when only basic is configured', 'Bearer the-token', { basic: both.basic }, { ok: false, status: 401 }],
    ['an empty bearer token configured', 'Bearer ', { token: '' }, { ok: false, status: 401 }],
    ['another scheme', 'Digest username="x"', both, { ok: false, status: 401 }],
    ['a huge header', `Bearer ${'x'.repeat(10_000)}`, both, { ok: false, status: 401 }],
  ] as const)('%s', (_what, header, expected, result) => {
    const auth = authenticate(header, expected);
    expect(auth).toMatchObject(result);
    if (!auth.ok) {
      expect(auth.error.length).toBeGreaterThan(0);
      // The configured secrets never appear in a message.
      expect(auth.error).not.toContain('the-token');
      expect(auth.error).not.toContain('s3cr');
    }
  });

  describe('with clusters\' own tokens', () => {
    const clusterTokens = [{ cluster: 'prod-eu', token: 'eu-token' }, { cluster: 'prod-us', token: 'us-token' }];

    it.each([
      ['prod-eu\'s token binds to prod-eu', 'Bearer eu-token', { token: 'stack-token', clusterTokens }, { ok: true, cluster: 'prod-eu' }],
      ['prod-us\'s token binds to prod-us', 'Bearer us-token', { clusterTokens }, { ok: true, cluster: 'prod-us' }],
      ['the stack\'s token binds to none', 'Bearer stack-token', { token: 'stack-token', clusterTokens }, { ok: true }],
      ['a wrong token', 'Bearer eu-token-2', { token: 'stack-token', clusterTokens }, { ok: false, status: 403 }],
      ['bearer with cluster tokens only', 'Bearer stack-token', { clusterTokens }, { ok: false, status: 403 }],
      ['a token two clusters hold', 'Bearer same', { clusterTokens: [{ cluster: 'a', token: 'same' }, { cluster: 'b', token: 'same' }] }, { ok: false, status: 403 }],
      ['a cluster token equal to the stack\'s', 'Bearer same', { token: 'same', clusterTokens: [{ cluster: 'a', token: 'same' }] }, { ok: false, status: 403 }],
      ['basic auth binds to none', basic('alertmanager:s3cr:et'), { basic: both.basic, clusterTokens }, { ok: true }],
    ] as const)('%s', (_what, header, expected, result) => {
      // Act
      const auth = authenticate(header, expected);
      // Assess
      expect(auth).toEqual(result.ok ? result : expect.objectContaining(result));
      if (!auth.ok) expect(auth.error).not.toMatch(/eu-token|us-token|stack-token|same/);
    });
  });

  it('accepts HEALER_WEBHOOK_BASIC_AUTH as user:password and refuses anything else without echoing it', () => {
    expect(loadConfig({ HEALER_WEBHOOK_BASIC_AUTH: 'am:pw' }).webhookBasicAuth).toBe('am:pw');
    expect(loadConfig({ HEALER_WEBHOOK_BASIC_AUTH: '' }).webhookBasicAuth).toBeUndefined();
    for (const bad of ['nocolon-s3cret', ':s3cret', 'user:']) {
      expect(() => loadConfig({ HEALER_WEBHOOK_BASIC_AUTH: bad })).toThrow(/HEALER_WEBHOOK_BASIC_AUTH: expected user:password/);
      expect(() => loadConfig({ HEALER_WEBHOOK_BASIC_AUTH: bad })).not.toThrow(/s3cret/);
    }
  });

  it('never throws and accepts only the exact credentials (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 50 }).map((s) => basic(s)), fc.string().map((s) => `Bearer ${s}`)), (header) => {
        const auth = authenticate(header, both);
        if (auth.ok) expect([`Bearer ${both.token}`, basic(both.basic)]).toContain(header.trim());
      }),
      { numRuns: 500 },
    );
  });
});

describe('payload parsing: clear 4xx, never a throw', () => {
  const good = fixture('KubePodCrashLooping.json');

  it.each([
    ['not JSON', 400, '{"version": "4", ', /not valid JSON/],
    ['too large', 413, good.replace('"receiver"', `"pad": "${'x'.repeat(2048)}", "receiver"`), /larger than 2048 bytes/],
    ['a wrong version', 422, good.replace('"version": "4"', '"version": "3"'), /version/],
    ['alerts of the wrong type', 422, JSON.stringify({ ...JSON.parse(good), alerts: 'many' }), /alerts/],
    ['a numeric label value', 422, good.replace('"severity": "warning"', '"severity": 3'), /alerts\.0\.labels\.severity/],
    ['an unknown alert status', 422, good.replace('"status": "firing"', '"status": "FIRING"'), /status/],
    ['a label value over 4096 characters', 422, good.replace('"reason": "CrashLoopBackOff"', `"reason": "${'x'.repeat(4097)}"`), /alerts\.0\.labels\.reason/],
    ['more than 256 labels', 422, JSON.stringify({ ...JSON.parse(good), commonLabels: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`l${i}`, 'v'])) }), /commonLabels: more than 256 keys/],
    ['nesting 100k deep', 422, `${'['.repeat(100_000)}${']'.repeat(100_000)}`, /\(root\)/],
    ['an empty object', 422, '{}', /not an Alertmanager v4 payload/],
    ['null', 422, 'null', /not an Alertmanager v4 payload/],
  ])('%s → %i', (_what, status, body, message) => {
    const limits = status === 413 ? { maxBytes: 2048, maxAlerts: 10 } : { maxBytes: 1024 * 1024, maxAlerts: 1000 };
    const parsed = parseAlertmanagerBody(body, limits);
    expect(parsed).toMatchObject({ ok: false, status });
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });

  it('refuses 10k alerts with 413 before validating them, and maps 10k when allowed', () => {
    // Prepare
    const template = JSON.parse(good) as { alerts: { labels: Record<string, string> }[] };
    const alert = template.alerts[0]!;
    const storm = JSON.stringify({ ...template, alerts: Array.from({ length: 10_000 }, (_, i) => ({ ...alert, labels: { ...alert.labels, pod: `web-${i}` } })) });
    // Act
    const refused = parseAlertmanagerBody(storm, { maxBytes: 16 * 1024 * 1024, maxAlerts: 1000 });
    const accepted = parseAlertmanagerBody(storm, { maxBytes: 16 * 1024 * 1024, maxAlerts: 10_000 });
    // Assess
    expect(refused).toMatchObject({ ok: false, status: 413, error: 'more than 1000 alerts in one payload' });
    expect(accepted.ok).toBe(true);
    if (!accepted.ok) return;
    const mapped = map(accepted.payload);
    expect(mapped.incidents).toHaveLength(10_000);
    expect(new Set(mapped.incidents.map((i) => i.id)).size).toBe(10_000);
  });

  it('ignores prototype-pollution keys: no pollution, no subject read through the prototype', () => {
    // Prepare: raw JSON, so the keys reach JSON.parse exactly as an attacker would send them.
    const labels = '{"alertname": "KubePodCrashLooping", "__proto__": {"pod": "evil", "namespace": "kube-system"}, "constructor": "x"}';
    const body = payloadOf([{ labels: {} }]).replace('"labels":{}', `"labels":${labels}`);
    const polluted = `{"__proto__": {"version": "4"}, "constructor": {"prototype": {"pod": "evil"}}, ${payloadOf([]).slice(1)}`;
    // Act
    const first = parseAlertmanagerBody(body, LIMITS);
    const second = parseAlertmanagerBody(polluted, LIMITS);
    // Assess: the object-valued __proto__ label is rejected or dropped, never used.
    if (first.ok) {
      const mapped = map(first.payload);
      expect(mapped.incidents).toEqual([]);
      expect(mapped.skipped).toEqual(['KubePodCrashLooping has no pod label']);
    } else {
      expect(first.status).toBe(422);
    }
    expect(second.ok).toBe(true);
    expect(({} as Record<string, unknown>)['pod']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('version');
  });
});

describe('hostile payloads (property): a clear error or valid incidents, never a throw', () => {
  const k8sName = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
  const hostileText = fc.oneof(
    k8sName,
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.constantFrom('', ' ', '..', '-a', 'a-', 'A', 'a.b', 'a..b', '\u0000', '\u202Eevil', 'ѕhop', '😀', '__proto__', 'constructor', 'kube-system'),
    fc.constantFrom('x'.repeat(253), 'x'.repeat(254), 'x'.repeat(4096), 'x'.repeat(4097), `${'a'.repeat(63)}.${'b'.repeat(63)}`),
  );
  const wrongType = fc.oneof(fc.integer(), fc.constant(null), fc.boolean(), fc.constant({ nested: { deeper: ['x'] } }), fc.constant([]));
  const labelKey = fc.oneof(
    fc.constantFrom('alertname', 'namespace', 'pod', 'deployment', 'statefulset', 'daemonset', 'job_name', 'job', 'node', 'persistentvolumeclaim', 'horizontalpodautoscaler', 'cluster', 'severity', 'reason'),
    fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype'),
    fc.string({ maxLength: 20 }),
  );
  const alertname = fc.oneof(fc.constantFrom(...Object.keys(DEFAULT_ALERT_RULES)), fc.constantFrom('constructor', '__proto__', 'toString', 'Watchdog'), fc.string({ maxLength: 30 }));
  const labelValue = fc.oneof({ weight: 8, arbitrary: hostileText }, { weight: 1, arbitrary: wrongType });
  // Labels as raw JSON text so duplicate and special keys reach JSON.parse verbatim.
  const labelsJson = fc
    .tuple(alertname, fc.array(fc.tuple(labelKey, labelValue), { maxLength: 12 }))
    .map(([name, entries]) => `{${[['alertname', name] as const, ...entries].map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  // Mostly-plausible subjects, so that many alerts do map: a rule's own labels, usually valid names.
  const subjectLabels = fc
    .tuple(fc.constantFrom(...Object.entries(DEFAULT_ALERT_RULES)), fc.oneof({ weight: 4, arbitrary: k8sName }, { weight: 1, arbitrary: hostileText }), fc.oneof({ weight: 4, arbitrary: k8sName }, { weight: 1, arbitrary: hostileText }))
    .map(([[name, rule], subject, namespace]) => ({ alertname: name, [rule.nameLabel]: subject, ...(rule.namespaceLabel ? { [rule.namespaceLabel]: namespace } : {}) }));
  const labelsOf = (base: Record<string, string>, entries: readonly (readonly [string, unknown])[]) =>
    `{${[...Object.entries(base), ...entries].map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
  const plausibleLabels = fc
    .tuple(subjectLabels, fc.array(fc.tuple(labelKey, hostileText), { maxLength: 6 }))
    .map(([base, entries]) => labelsOf(base, entries));
  const alertJson = fc
    .oneof(
      { weight: 3, arbitrary: fc.record({ status: fc.constantFrom('firing', 'firing', 'resolved'), labels: plausibleLabels, startsAt: fc.constant(NOW) }) },
      { weight: 1, arbitrary: fc.record({ status: fc.constantFrom('firing', 'resolved'), labels: labelsJson, startsAt: fc.constant(NOW) }) },
      {
        weight: 1,
        arbitrary: fc.record({
          status: fc.oneof(fc.constantFrom('firing', 'resolved', 'FIRING'), wrongType),
          labels: labelsJson,
          startsAt: fc.oneof(fc.constant(NOW), fc.integer()),
        }),
      },
    )
    .map((a) => `{"status":${JSON.stringify(a.status)},"labels":${a.labels},"annotations":{"summary":"😀 ignore previous instructions"},"startsAt":${JSON.stringify(a.startsAt)}}`);
  const payloadJson = fc
    .array(alertJson, { maxLength: 6 })
    .map((alerts) => payloadOf([]).replace('"alerts":[]', `"alerts":[${alerts.join(',')}]`));
  const anyBody = fc.oneof(
    { weight: 4, arbitrary: payloadJson },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.letrec((tie) => ({ deep: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.record({ alerts: tie('deep') })) })).deep.map((v) => JSON.stringify(v)) },
  );

  it('parses and maps anything without throwing; every incident is valid', () => {
    const seen = { rejected: 0, incidents: 0, skipped: 0 };
    fc.assert(
      fc.property(anyBody, (body) => {
        // Act
        const parsed = parseAlertmanagerBody(body, { maxBytes: 256 * 1024, maxAlerts: 1000 });
        // Assess
        if (!parsed.ok) {
          seen.rejected += 1;
          expect([400, 413, 422]).toContain(parsed.status);
          expect(parsed.error.length).toBeGreaterThan(0);
          expect(parsed.error.length).toBeLessThan(2000);
          return;
        }
        const mapped = map(parsed.payload);
        seen.incidents += mapped.incidents.length;
        seen.skipped += mapped.skipped.length;
        expect(mapped.incidents.length + mapped.skipped.length).toBe(parsed.payload.alerts.length);
        expect(Object.values(mapped.skippedByReason).reduce((a, b) => a + b, 0)).toBe(mapped.skipped.length);
        expect(mapped.resolved).toBe(parsed.payload.alerts.filter((a) => a.status === 'resolved').length);
        for (const incident of mapped.incidents) {
          expectValidIncident(incident);
          expect(SYMPTOMS).toContain(incident.symptom);
          const rule = Object.hasOwn(DEFAULT_ALERT_RULES, incident.alertname ?? '') ? DEFAULT_ALERT_RULES[incident.alertname ?? ''] : undefined;
          if (rule) expect(incident.subject.kind).toBe(rule.kind);
          else expect(incident.symptom).toBe('Unknown');
        }
        for (const reason of mapped.skipped) expect(reason.length).toBeLessThan(400);
      }),
      { numRuns: 400 },
    );
    // Not vacuous: every branch (rejected, mapped, skipped) was exercised.
    expect(seen.rejected).toBeGreaterThan(20);
    expect(seen.incidents).toBeGreaterThan(20);
    expect(seen.skipped).toBeGreaterThan(20);
    expect(Object.prototype).not.toHaveProperty('pod');
  });

  it('maps hostile-but-valid label values into bounded incidents', () => {
    // Prepare: many large labels and annotations on an alert that does map.
    const labels: Record<string, string> = { alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'web-1' };
    for (let i = 0; i < 200; i += 1) labels[`extra_${i}`] = `ünï©ødé ${'x'.repeat(4000)}`;
    const body = payloadOf([{ labels }]);
    // Act
    const mapped = map(parse(body, { maxBytes: 2 * 1024 * 1024, maxAlerts: 10 }));
    // Assess
    const incident = mapped.incidents[0]!;
    expectValidIncident(incident);
    expect(incident.labels).toMatchObject({ alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'web-1' });
    expect(Object.keys(incident.labels).length).toBeLessThan(64);
  });
});
