import { describe, expect, it } from 'vitest';
import { missingPrerequisites, parseGoVersion, parseJavaMajor, prerequisiteReport, type MachineFacts } from '../../lib/local/prerequisites.js';
import { liveRunRefusal, type ActingIdentity } from '../../lib/local/acting-identity.js';
import { incidentStory } from '../../lib/local/console-story.js';
import { crashLoopAlertPayload } from '../../lib/local/try-it.js';
import { parseAlertmanagerBody } from '../../lib/intake/alertmanager.js';
import { alertsToIncidents, incidentId } from '../../lib/intake/incidents.js';
import type { Incident } from '../../lib/domain/types.js';
import type { RemediationReport } from '../../lib/pipeline/remediate.js';

/** The first run's decisions: what is missing before anything long starts, whom it acts as, what it says. */
describe('prerequisites, checked before any long step', () => {
  const ready: MachineFacts = { binaries: { ok: true, dir: '/cache/k8s' }, javaMajor: 17 };
  const noBinaries = { ok: false as const, reason: 'not built yet' };

  it('starts with cached binaries and Java 17', () => {
    expect(missingPrerequisites(ready)).toEqual({ missing: [], plan: { cluster: 'cached-binaries', dynamo: 'dynamodb-local' } });
  });

  it('builds the control plane when Go is new enough, and says so up front', () => {
    expect(missingPrerequisites({ ...ready, binaries: noBinaries, go: [1, 24] }).plan?.cluster).toBe('build-binaries');
  });

  it('needs no binaries or Go with a kubeconfig, and no Java with a DynamoDB endpoint', () => {
    const r = missingPrerequisites({ kubeconfig: '/home/me/.kube/config', binaries: noBinaries, dynamoEndpoint: 'http://127.0.0.1:8000' });
    expect(r).toEqual({ missing: [], plan: { cluster: 'kubeconfig', dynamo: 'endpoint' } });
  });

  it('reports every gap at once, each with its exact fixes, and gives no plan', () => {
    // Prepare: no Java (the DynamoDB Local gap), Go too old and nothing cached (the cluster gap).
    const facts: MachineFacts = { binaries: noBinaries, go: [1, 22] };

    // Act
    const { missing, plan } = missingPrerequisites(facts);
    const report = prerequisiteReport(missing);

    // Assess
    expect(plan).toBeUndefined();
    expect(missing.map((m) => m.need)).toEqual([expect.stringContaining('Go 1.22 is older than 1.24'), expect.stringContaining('Java 17+ for DynamoDB Local (no runnable java)')]);
    expect(report).toContain('2 prerequisites missing');
    for (const fix of ['install Go >= 1.24', 'KUBEBUILDER_ASSETS=', 'KUBECONFIG=', 'openjdk-17-jre-headless', 'AWS_ENDPOINT_URL_DYNAMODB=']) expect(report).toContain(fix);
  });

  it('names an old Java by its version', () => {
    expect(missingPrerequisites({ ...ready, javaMajor: 11 }).missing[0]?.need).toContain('found Java 11');
  });

  it.each([
    ['openjdk version "17.0.12" 2024-07-16', 17],
    ['openjdk version "21" 2023-09-19', 21],
    ['java version "1.8.0_292"', 8],
    ['no version here', undefined],
  ])('reads the Java major version from %j', (text, major) => expect(parseJavaMajor(text)).toBe(major));

  it.each([
    ['go version go1.24.3 linux/amd64', [1, 24]],
    ['go version go1.9 linux/amd64', [1, 9]],
    ['bash: go: command not found', undefined],
  ])('reads the Go version from %j', (text, version) => expect(parseGoVersion(text)).toEqual(version));
});

describe('acting live on a cluster the healer did not start', () => {
  const admin: ActingIdentity = { context: 'prod', server: 'https://prod:6443', username: 'kubernetes-admin', groups: ['system:masters'], clusterAdmin: true };
  const scoped: ActingIdentity = { context: 'prod', server: 'https://prod:6443', username: 'system:serviceaccount:k8s-healer:k8s-healer', groups: [], clusterAdmin: false };
  const unknown: ActingIdentity = { context: 'prod', server: 'https://prod:6443', groups: [], clusterAdmin: false, unknown: 'SelfSubjectReview failed: 404' };

  it('refuses a live run as a cluster admin without a yes, naming the context and the ways out', () => {
    const refusal = liveRunRefusal({ dryRun: false, identity: admin, confirmed: false });
    expect(refusal).toContain('context "prod"');
    expect(refusal).toContain('a cluster admin (kubernetes-admin)');
    expect(refusal).toContain('--yes');
    expect(refusal).toContain('HEALER_YES=true');
  });

  it('treats an identity it cannot read like an admin', () => {
    expect(liveRunRefusal({ dryRun: false, identity: unknown, confirmed: false })).toContain('would not describe');
  });

  it.each([
    ['a dry run as admin', { dryRun: true, identity: admin, confirmed: false }],
    ['a confirmed live run as admin', { dryRun: false, identity: admin, confirmed: true }],
    ['a live run as the scoped identity', { dryRun: false, identity: scoped, confirmed: false }],
  ])('lets %s start', (_name, input) => expect(liveRunRefusal(input)).toBeNull());
});

describe('the "try it" alert', () => {
  it('is a payload the real intake accepts, naming exactly the pod it was made for', () => {
    // Prepare
    const body = JSON.stringify(crashLoopAlertPayload({ namespace: 'healer-demo', pod: 'orders-api-7f849f7cb6-g9mn7', container: 'orders-api', startsAt: new Date('2026-12-05T17:00:00Z') }));

    // Act
    const parsed = parseAlertmanagerBody(body, { maxBytes: 1 << 20, maxAlerts: 100 });
    const mapped = parsed.ok ? alertsToIncidents(parsed.payload.alerts, { clusters: 'local', nowIso: '2026-12-05T17:00:01Z' }) : undefined;

    // Assess
    expect(parsed.ok).toBe(true);
    expect(mapped?.skipped).toEqual([]);
    expect(mapped?.incidents.map((i) => [i.id, i.symptom, i.subject])).toEqual([
      [incidentId('local', 'healer-demo', 'Pod', 'orders-api-7f849f7cb6-g9mn7', 'CrashLoopBackOff'), 'CrashLoopBackOff', { kind: 'Pod', namespace: 'healer-demo', name: 'orders-api-7f849f7cb6-g9mn7' }],
    ]);
  });
});

describe('the console story of one incident', () => {
  const incident: Incident = {
    id: 'i-1', cluster: 'local', source: 'scan', symptom: 'CrashLoopBackOff', subject: { kind: 'Pod', namespace: 'healer-demo', name: 'orders-api-1' },
    severity: 'warning', labels: {}, annotations: {}, detectedAt: '2026-12-05T17:00:00Z',
  };
  const diagnosis = {
    diagnoser: 'runbook', summary: 'crash loop after a dependency connection failure', rootCause: 'dependency down', category: 'transient-crash',
    confidence: 0.8, restartCanHelp: true, recommendation: 'evict-pod', evidenceCited: [],
  } as const;
  const verdicts = [{ rule: 'kill-switch', reason: null }, { rule: 'cooldown', reason: null }];

  it('tells detection, diagnosis, policy, action and verification in that order', () => {
    const report: RemediationReport = {
      incidentId: 'i-1', outcome: 'acted', diagnosis,
      decision: { allowed: true, verdicts, dryRun: false },
      action: { action: 'evict-pod', target: { kind: 'Pod', namespace: 'healer-demo', name: 'orders-api-1' }, ok: true, detail: 'accepted', verified: true },
    };
    const lines = incidentStory(incident, report);
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['detected', 'diagnosis', 'policy', 'action', 'verified', 'outcome']);
    expect(lines[0]).toBe('detected   CrashLoopBackOff on Pod healer-demo/orders-api-1 (scan)');
    expect(lines[2]).toBe('policy     allowed by all 2 rules');
    expect(lines[4]).toContain('yes');
  });

  it('names the rule that denied, and takes no action line', () => {
    const report: RemediationReport = {
      incidentId: 'i-1', outcome: 'paged', diagnosis,
      decision: { allowed: false, verdicts: [...verdicts.slice(0, 1), { rule: 'cooldown', reason: 'acted 30 s ago' }], deniedBy: 'cooldown', reason: 'acted 30 s ago', dryRun: false },
    };
    const lines = incidentStory(incident, report);
    expect(lines).toContain('policy     denied by cooldown: acted 30 s ago');
    expect(lines.some((l) => l.startsWith('action'))).toBe(false);
  });

  it('cuts long text so one incident cannot flood the terminal', () => {
    const report: RemediationReport = { incidentId: 'i-1', outcome: 'paged', diagnosis: { ...diagnosis, summary: 'x'.repeat(5000) } };
    expect(Math.max(...incidentStory(incident, report).map((l) => l.length))).toBeLessThanOrEqual(200);
  });
});
