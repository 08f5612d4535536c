import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import {
  acquireControlPlane,
  applyManifest,
  createCrashLoopingDeployment,
  deleteNamespace,
  listPods,
  loadKubeConfig,
  waitFor,
  type ClusterInfo,
} from '../support/control-plane.js';
import { createAnthropicDiagnoser } from '../../lib/adapters/anthropic-diagnoser.js';
import { KubernetesCluster } from '../../lib/adapters/kubernetes.js';
import { KubernetesInvestigator } from '../../lib/adapters/kubernetes-investigator.js';
import { anIncident } from '../fixtures/builders.js';
import { startMessagesApiServer, steps, type MessagesApiServer } from '../support/messages-api-server.js';

/**
 * The real Investigator on the local control plane, with the healer's own scoped identity
 * (infra/rbac.yaml): every look-up the model may ask for works there without widening RBAC, and
 * a whole investigation (gathered evidence, the real SDK, a look-up, a verdict) reads the log the
 * evidence step did not keep.
 */
let cluster: ClusterInfo;
let release: () => Promise<void>;
let server: MessagesApiServer;
const namespace = `investigate-${Date.now().toString(36)}`;
const KEY = 'sk-ant-test-investigator-0000000000000000';
// 312 lines: the evidence step keeps the last 20, a look-up can read further back.
const previousLog = [
  ...Array.from({ length: 280 }, (_, i) => `2026-11-25T03:00:${String(i % 60).padStart(2, '0')}Z INFO worker ${i} ready`),
  '2026-11-25T03:05:00Z WARN pool: connection to orders-db lost, retrying',
  ...Array.from({ length: 30 }, (_, i) => `2026-11-25T03:05:${String(i).padStart(2, '0')}Z INFO retry ${i}`),
  '2026-11-25T03:06:00Z FATAL giving up: dial tcp 10.96.14.22:5432: connect: connection refused',
].join('\n');

let pod: V1Pod;
let investigator: KubernetesInvestigator;

beforeAll(async () => {
  ({ cluster, release } = await acquireControlPlane());
  server = await startMessagesApiServer({ apiKey: KEY });
  await createCrashLoopingDeployment({ namespace, name: 'orders', previousLog, currentLog: 'booting orders 2.3.1\n', restartPeriodSeconds: 2 });
  await applyManifest(cluster.adminKubeconfigPath, {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'export', namespace },
    spec: { backoffLimit: 2, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'export', image: 'registry.example.com/export:1.0' }] } } },
  });
  pod = await waitFor(async () => (await listPods(cluster.adminKubeconfigPath, namespace, { app: 'orders' })).find((p) =>
    (p.status?.containerStatuses ?? []).some((c) => c.restartCount > 0)), { what: 'a restarted orders pod', timeoutMs: 60_000 });
  investigator = new KubernetesInvestigator(loadKubeConfig(cluster.healerKubeconfigPath));
}, 180_000);

afterAll(async () => {
  if (cluster) await deleteNamespace(cluster.adminKubeconfigPath, namespace);
  await server?.close();
  await release?.();
});

const podRef = () => ({ kind: 'Pod', name: pod.metadata?.name ?? '', namespace });
const replicaSetName = () => pod.metadata?.ownerReferences?.find((o) => o.controller)?.name ?? '';

describe('KubernetesInvestigator with the healer\'s identity', () => {
  it('reads the previous and the current log, tail and byte bounds applied by the API server', async () => {
    const previous = await investigator.podLog(podRef(), { container: 'orders', previous: true, tailLines: 300, limitBytes: 64 * 1024 });
    const current = await investigator.podLog(podRef(), { container: 'orders', previous: false, tailLines: 10, limitBytes: 64 * 1024 });
    const short = await investigator.podLog(podRef(), { container: 'orders', previous: true, tailLines: 2, limitBytes: 64 * 1024 });

    expect(previous).toContain('WARN pool: connection to orders-db lost');
    expect(previous.trimEnd().split('\n')).toHaveLength(300);
    expect(current).toBe('booting orders 2.3.1\n');
    expect(short.trimEnd().split('\n')).toEqual(['2026-11-25T03:05:29Z INFO retry 29', '2026-11-25T03:06:00Z FATAL giving up: dial tcp 10.96.14.22:5432: connect: connection refused']);
  });

  it('describes each object of the owner chain, and the node', async () => {
    const [podSummary, rs, deployment, node] = await Promise.all([
      investigator.describe(podRef()),
      investigator.describe({ kind: 'ReplicaSet', name: replicaSetName(), namespace }),
      investigator.describe({ kind: 'Deployment', name: 'orders', namespace }),
      investigator.node(pod.spec?.nodeName ?? ''),
    ]);

    expect(podSummary).toMatchObject({ kind: 'Pod', node: pod.spec?.nodeName, containers: [{ name: 'orders', image: 'registry.example.com/crashy-app:1.0.0' }] });
    expect(podSummary['containerStatuses']).toEqual([expect.objectContaining({ name: 'orders', restartCount: expect.any(Number) as number })]);
    expect(rs).toMatchObject({ kind: 'ReplicaSet', revision: '1', images: ['registry.example.com/crashy-app:1.0.0'] });
    expect(deployment).toMatchObject({ kind: 'Deployment', replicas: 1, images: ['registry.example.com/crashy-app:1.0.0'] });
    expect(node).toMatchObject({ kind: 'Node', name: pod.spec?.nodeName, unschedulable: false });
    expect(node['conditions']).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'True' })]));
  });

  it('describes a Job, and reads events of the pod, its owners and its node', async () => {
    const job = await waitFor(async () => {
      const j = await investigator.describe({ kind: 'Job', name: 'export', namespace });
      return j['startTime'] ? j : undefined;
    }, { what: 'the export Job to start', timeoutMs: 30_000 });
    const [podEvents, rsEvents, deploymentEvents, nodeEvents] = await Promise.all([
      investigator.events(podRef(), 30),
      investigator.events({ kind: 'ReplicaSet', name: replicaSetName(), namespace }, 30),
      investigator.events({ kind: 'Deployment', name: 'orders', namespace }, 30),
      investigator.events({ kind: 'Node', name: pod.spec?.nodeName ?? '' }, 5),
    ]);

    expect(job).toMatchObject({ kind: 'Job', backoffLimit: 2, images: ['registry.example.com/export:1.0'] });
    expect(podEvents.map((e) => e.reason)).toContain('Scheduled');
    expect(rsEvents.map((e) => e.reason)).toContain('SuccessfulCreate');
    expect(deploymentEvents.map((e) => e.reason)).toContain('ScalingReplicaSet');
    expect(nodeEvents.length).toBeLessThanOrEqual(5); // a cluster-wide list by field selector is allowed, and bounded
  });

  it('compares the pod\'s revision in the rollout', async () => {
    const rollout = await investigator.rollout({ kind: 'Deployment', name: 'orders', namespace }, replicaSetName());
    expect(rollout).toMatchObject({ deployment: 'orders', podRevision: 1, newestRevision: 1, revisions: [{ name: replicaSetName(), revision: 1 }] });
  });

  it('answers redacted: container args and commands, event messages, whatever the caller does next', async () => {
    // Prepare: a pod whose command line holds passwords (a flag and its value as neighbouring args,
    // mysql's glued -p across command and args, redis-cli -a), and an event quoting a database URL
    const secrets = ['Nq7vR2kZ', 'Xk2pQ9vL', 'hunter2hunter2', 'q9X/3kLm+ZpR2'];
    await applyManifest(cluster.adminKubeconfigPath, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'migrate', namespace },
      spec: {
        restartPolicy: 'Never',
        initContainers: [{ name: 'wait-cache', image: 'redis:7', command: ['redis-cli', '-h', 'cache', '-a', 'hunter2hunter2', 'ping'] }],
        containers: [
          { name: 'migrate', image: 'mysql:8', command: ['mysql'], args: ['-h', 'orders-db', '-uroot', '-pXk2pQ9vL', 'orders'] },
          { name: 'orders', image: 'registry.example.com/orders:2.3.1', args: ['--db-password', 'Nq7vR2kZ', '--port=8080'] },
        ],
      },
    });
    await applyManifest(cluster.adminKubeconfigPath, {
      apiVersion: 'v1', kind: 'Event', metadata: { name: 'migrate.dsn', namespace },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', name: 'migrate', namespace },
      type: 'Warning', reason: 'BackOff', count: 1, lastTimestamp: new Date().toISOString(),
      message: 'dial failed for postgres://app:q9X/3kLm+ZpR2@db.shop.svc:5432/app',
    });
    const ref = { kind: 'Pod', name: 'migrate', namespace };

    // Act
    const [summary, events] = await Promise.all([investigator.describe(ref), investigator.events(ref, 30)]);

    // Assess
    const sent = JSON.stringify({ summary, events });
    for (const secret of secrets) expect(sent, `${secret} left the adapter`).not.toContain(secret);
    expect(summary['containers']).toEqual([
      expect.objectContaining({ name: 'migrate', command: ['mysql'], args: ['-h', 'orders-db', '-uroot', '-p[REDACTED]', 'orders'] }),
      expect.objectContaining({ name: 'orders', args: ['--db-password', '[REDACTED]', '--port=8080'] }),
    ]);
    expect(summary['initContainers']).toEqual([expect.objectContaining({ command: ['redis-cli', '-h', 'cache', '-a', '[REDACTED]', 'ping'] })]);
    expect(events.map((e) => e.message)).toContain('dial failed for postgres://app:[REDACTED]@db.shop.svc:5432/app');
  });

  it('says which read failed when the API server refuses or does not know the object', async () => {
    await expect(investigator.describe({ kind: 'Deployment', name: 'no-such-deployment', namespace })).rejects.toThrow(/reading Deployment .*no-such-deployment failed: the API server answered 404/);
    await expect(investigator.describe({ kind: 'Secret', name: 'x', namespace })).rejects.toThrow(/describing a Secret is not supported/);
  });
});

describe('an investigation on the real cluster', () => {
  it('lets the model read further back in the log than the evidence step kept, then takes its verdict', async () => {
    // Prepare: evidence as the worker gathers it (20 lines of log), a model that asks for 300
    const incident = anIncident({ subject: { kind: 'Pod', name: pod.metadata?.name ?? '', namespace } });
    const reader = new KubernetesCluster(loadKubeConfig(cluster.healerKubeconfigPath), { logTailLines: 20, logLimitBytes: 8192, eventsLimit: 20 }, { now: () => Date.now() });
    const evidence = await reader.gatherEvidence(incident);
    expect(evidence.containers[0]?.previousLogTail).not.toContain('connection to orders-db lost');
    server.enqueue(
      steps.toolUses({ name: 'more_logs', input: { container: 'orders', which: 'previous', lines: 300 } }, { name: 'rollout_diff', input: {} }),
      steps.verdict({
        summary: 'orders lost its database and gave up', rootCause: 'The pool lost orders-db and gave up after 30 retries.', category: 'transient-crash',
        confidence: 0.8, evidenceCited: ['WARN pool: connection to orders-db lost'], restartCanHelp: true, recommendation: 'evict-pod',
        target: { kind: 'Pod', name: incident.subject.name, namespace },
      }),
    );
    const diagnoser = createAnthropicDiagnoser({ apiKey: KEY, baseURL: server.baseURL, model: 'claude-sonnet-5-5', timeoutMs: 20_000, maxRetries: 0, investigator });

    // Act
    const diagnosis = await diagnoser.diagnose(incident, evidence);

    // Assess
    expect(diagnosis).toMatchObject({ diagnoser: 'claude', recommendation: 'evict-pod', usage: { steps: 2, requests: 2 } });
    const followUp = JSON.stringify(server.requests[1]?.body);
    expect(followUp).toContain('WARN pool: connection to orders-db lost');
    expect(followUp).toContain('\\"podRevision\\": 1');
    expect(server.requests.map((r) => r.problems)).toEqual([[], []]);
  });
});
