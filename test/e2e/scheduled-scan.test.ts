import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchV1Api, type V1Pod } from '@kubernetes/client-node';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';
import {
  AppsV1Api,
  CoreV1Api,
  acquireControlPlane,
  applyManifest,
  createCrashLoopingDeployment,
  deleteNamespace,
  ensureNamespace,
  listPods,
  loadKubeConfig,
  waitFor,
  type ClusterInfo,
} from '../support/control-plane.js';
import { localContext } from '../../lib/local/http-api.js';
import { incidentId } from '../../lib/intake/incidents.js';
import type { ClusterScan, ScanReport } from '../../lib/pipeline/scan.js';
import type { Incident } from '../../lib/domain/types.js';

/**
 * The scheduled-scan Lambda handler on the local control plane, with the healer's scoped identity:
 * one snapshot (cluster-wide, paginated lists), every detector, one incident per owner group on
 * the same dedup + queue path as the webhook. Each case makes one symptom for real (kwok's
 * kubelet stages, the real scheduler, Job, Deployment and node lifecycle controllers) in a
 * namespace of its own, and asserts the incidents that namespace produced.
 *
 * Not produced here, and why: ImagePullBackOff and CreateContainerConfigError (kwok runs no
 * containers and has no stage reporting them), PodEvicted and NodePressure (only a real kubelet's
 * node-pressure eviction writes them), PodTerminating (its 300 s threshold has no setting), and
 * JobStuck past activeDeadlineSeconds (the real Job controller fails such a Job: that is the
 * JobFailed case; JobStuck is produced by the running-too-long threshold instead).
 */
let cluster: ClusterInfo;
let release: () => Promise<void>;
let env: HealerEnv;
let handler: (event: ScheduledEvent, context: Context) => Promise<ClusterScan[]>;
const namespaces: string[] = [];
const run = Date.now().toString(36);
// A node no kubelet (kwok) reports for: the node lifecycle controller marks it Ready=Unknown after
// its startup grace period (1 min). Made first so that minute passes while the other cases run.
const lostNode = `healer-test-lost-${run}`;

const scheduledEvent: ScheduledEvent = {
  version: '0', id: 'scan-1', 'detail-type': 'Scheduled Event', source: 'aws.events', account: '000000000000',
  time: new Date().toISOString(), region: 'us-east-1', resources: [], detail: {},
};

const NO_SUCH_NODE = { 'healer-test/no-such-node': 'true' };

beforeAll(async () => {
  ({ cluster, release } = await acquireControlPlane());
  // Thresholds the real controllers reach within a test: unschedulable and not Ready at once, a Job running over 5 s is stuck.
  env = await startHealerEnv({
    KUBECONFIG: cluster.healerKubeconfigPath,
    HEALER_SCAN_UNSCHEDULABLE_SECONDS: '0',
    HEALER_SCAN_JOB_STUCK_SECONDS: '5',
    HEALER_SCAN_NODE_NOT_READY_SECONDS: '0',
  });
  ({ handler } = await import('../../functions/scheduled-scan.js'));
  // Cordoned, so the scheduler never places a pod there.
  await applyManifest(cluster.adminKubeconfigPath, { apiVersion: 'v1', kind: 'Node', metadata: { name: lostNode, labels: { type: 'lost' } }, spec: { unschedulable: true } });
}, 180_000);

afterAll(async () => {
  const core = cluster && loadKubeConfig(cluster.adminKubeconfigPath).makeApiClient(CoreV1Api);
  await core?.deleteNode({ name: lostNode }).catch(() => undefined);
  for (const ns of namespaces) await deleteNamespace(cluster.adminKubeconfigPath, ns);
  await env?.stop();
  await release?.();
});

function newNamespace(purpose: string): string {
  const ns = `scan-${purpose}-${run}`;
  namespaces.push(ns);
  return ns;
}

/** Receives and deletes everything queued (so a message is never seen twice after its visibility timeout). */
async function drain(): Promise<Incident[]> {
  const messages: Incident[] = [];
  for (;;) {
    const { Messages = [] } = await env.moto.sqs().send(new ReceiveMessageCommand({ QueueUrl: env.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    if (Messages.length === 0) return messages;
    messages.push(...Messages.map((m) => JSON.parse(m.Body ?? '{}') as Incident));
    await env.moto.sqs().send(new DeleteMessageBatchCommand({ QueueUrl: env.queueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
  }
}

/** Everything any scan of this file queued. */
const everQueued: Incident[] = [];

async function scan(): Promise<{ report: ScanReport; queued: Incident[] }> {
  const [only, ...others] = await handler(scheduledEvent, localContext('scheduled-scan', 60_000));
  // One cluster is configured here: one result, and it scanned.
  if (!only?.ok || others.length > 0) throw new Error(`expected one successful cluster scan, got ${JSON.stringify([only, ...others])}`);
  const report = only.report;
  const queued = await drain();
  everQueued.push(...queued);
  return { report, queued };
}

/** What a namespace produced, in a stable order: symptom, subject kind/name. */
const summary = (incidents: Incident[], namespace: string) =>
  incidents
    .filter((i) => i.subject.namespace === namespace)
    .map((i) => ({ symptom: i.symptom, subject: `${i.subject.kind}/${i.subject.name}`, id: i.id }))
    .sort((a, b) => (a.symptom < b.symptom ? -1 : a.symptom > b.symptom ? 1 : 0));

const podNames = (pods: V1Pod[]) => pods.map((p) => p.metadata?.name ?? '').sort();

function waitingPods(namespace: string, selector: Record<string, string>, replicas: number, lastTermination: string) {
  return waitFor(async () => {
    const pods = (await listPods(cluster.adminKubeconfigPath, namespace, selector)).filter((p) =>
      (p.status?.containerStatuses ?? []).some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff' && c.lastState?.terminated?.reason === lastTermination));
    return pods.length === replicas ? pods : undefined;
  }, { what: `${replicas} pods in CrashLoopBackOff after ${lastTermination} in ${namespace}`, timeoutMs: 60_000 });
}

describe('scheduled scan', () => {
  it('turns a crash-looping Deployment into one incident for its first pod, and a repeat scan into none', async () => {
    // Prepare: two crash-looping pods of one Deployment.
    const ns = newNamespace('crash');
    const app = await createCrashLoopingDeployment({ namespace: ns, name: 'api', replicas: 2, previousLog: 'connection refused', restartPeriodSeconds: 2 });
    const [firstPod] = podNames(await waitingPods(ns, app.selector, 2, 'Error'));

    // Act
    const first = await scan();
    const second = await scan();

    // Assess: one incident for the group, with the id an alert for that pod gets; nothing new the second time.
    expect(summary(first.queued, ns)).toEqual([
      { symptom: 'CrashLoopBackOff', subject: `Pod/${firstPod}`, id: incidentId('local', ns, 'Pod', firstPod ?? '', 'CrashLoopBackOff') },
    ]);
    const incident = first.queued.find((i) => i.subject.namespace === ns);
    expect(incident).toMatchObject({ source: 'scan', labels: { detector: 'crash-loop-back-off' }, annotations: { description: '2 Pods of Deployment/api with CrashLoopBackOff' } });
    expect(first.report.enqueued).toBe(first.queued.length);
    expect(first.report.gaps).toEqual([]);
    expect(first.report.detectorErrors).toEqual([]);
    expect(summary(second.queued, ns)).toEqual([]);
    expect(second.report.enqueued).toBe(second.queued.length);
    expect(second.report.duplicates).toBeGreaterThanOrEqual(1);
  });

  it('reports an OOMKilled crash loop as OOMKilled, not CrashLoopBackOff', async () => {
    // Prepare: the kubelet-style crash loop with reason OOMKilled and exit code 137 (healer-test/termination-reason).
    const ns = newNamespace('oom');
    const app = await createCrashLoopingDeployment({ namespace: ns, name: 'worker', replicas: 2, previousLog: 'allocating 2GiB', restartPeriodSeconds: 2, terminationReason: 'OOMKilled', exitCode: 137 });
    const [firstPod] = podNames(await waitingPods(ns, app.selector, 2, 'OOMKilled'));

    // Act
    const { queued } = await scan();

    // Assess
    expect(summary(queued, ns).map(({ symptom, subject }) => ({ symptom, subject }))).toEqual([{ symptom: 'OOMKilled', subject: `Pod/${firstPod}` }]);
  });

  it('reports pods the scheduler cannot place, and their Deployment past its progress deadline', async () => {
    // Prepare: a nodeSelector no node matches; the scheduler marks the pods Unschedulable and the
    // Deployment controller gives up after progressDeadlineSeconds.
    const ns = newNamespace('unsched');
    await ensureNamespace(cluster.adminKubeconfigPath, ns);
    await applyManifest(cluster.adminKubeconfigPath, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'gpu-job-runner', namespace: ns },
      spec: {
        replicas: 2,
        progressDeadlineSeconds: 3,
        selector: { matchLabels: { app: 'gpu-job-runner' } },
        template: {
          metadata: { labels: { app: 'gpu-job-runner' } },
          spec: { nodeSelector: NO_SUCH_NODE, containers: [{ name: 'runner', image: 'registry.example.com/runner:2.0.0' }] },
        },
      },
    });
    const pods = await waitFor(async () => {
      const all = await listPods(cluster.adminKubeconfigPath, ns, { app: 'gpu-job-runner' });
      const unschedulable = all.filter((p) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable'));
      return unschedulable.length === 2 ? unschedulable : undefined;
    }, { what: 'two Unschedulable pods', timeoutMs: 60_000 });
    const apps = loadKubeConfig(cluster.adminKubeconfigPath).makeApiClient(AppsV1Api);
    await waitFor(async () => {
      const deployment = await apps.readNamespacedDeployment({ name: 'gpu-job-runner', namespace: ns });
      return deployment.status?.conditions?.some((c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded');
    }, { what: 'ProgressDeadlineExceeded', timeoutMs: 60_000 });

    // Act
    const { queued } = await scan();

    // Assess: the pods are one group (subject: the first), the Deployment is its own incident.
    expect(summary(queued, ns).map(({ symptom, subject }) => ({ symptom, subject }))).toEqual([
      { symptom: 'DeploymentUnavailable', subject: 'Deployment/gpu-job-runner' },
      { symptom: 'PodUnschedulable', subject: `Pod/${podNames(pods)[0]}` },
    ]);
  });

  it('reports a Job the controller failed at its activeDeadlineSeconds', async () => {
    // Prepare: the Job's pod can never start, so the Job runs until its 2 s deadline; the Job
    // controller then marks it Failed (DeadlineExceeded) and deletes the pod.
    const ns = newNamespace('deadline');
    await ensureNamespace(cluster.adminKubeconfigPath, ns);
    await applyManifest(cluster.adminKubeconfigPath, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'nightly-export', namespace: ns },
      spec: {
        activeDeadlineSeconds: 2,
        backoffLimit: 0,
        template: { spec: { restartPolicy: 'Never', nodeSelector: NO_SUCH_NODE, containers: [{ name: 'export', image: 'registry.example.com/export:1.0.0' }] } },
      },
    });
    const batch = loadKubeConfig(cluster.adminKubeconfigPath).makeApiClient(BatchV1Api);
    await waitFor(async () => {
      const job = await batch.readNamespacedJob({ name: 'nightly-export', namespace: ns });
      const failed = job.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True' && c.reason === 'DeadlineExceeded');
      return failed && (await listPods(cluster.adminKubeconfigPath, ns, { 'job-name': 'nightly-export' })).length === 0;
    }, { what: 'the Job Failed with DeadlineExceeded and its pod gone', timeoutMs: 60_000 });

    // Act
    const { queued } = await scan();

    // Assess
    expect(summary(queued, ns).map(({ symptom, subject }) => ({ symptom, subject }))).toEqual([{ symptom: 'JobFailed', subject: 'Job/nightly-export' }]);
    expect(queued.find((i) => i.subject.namespace === ns)?.annotations.summary).toBe('failed: DeadlineExceeded');
  });

  it('reports a Job still running past HEALER_SCAN_JOB_STUCK_SECONDS, and its pod that cannot start', async () => {
    // Prepare: no deadline this time; the pod stays Pending, so the Job stays active.
    const ns = newNamespace('stuck');
    await ensureNamespace(cluster.adminKubeconfigPath, ns);
    await applyManifest(cluster.adminKubeconfigPath, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'reindex', namespace: ns },
      spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', nodeSelector: NO_SUCH_NODE, containers: [{ name: 'reindex', image: 'registry.example.com/reindex:1.0.0' }] } } },
    });
    const batch = loadKubeConfig(cluster.adminKubeconfigPath).makeApiClient(BatchV1Api);
    const pods = await waitFor(async () => {
      const job = await batch.readNamespacedJob({ name: 'reindex', namespace: ns });
      const started = job.status?.startTime?.getTime();
      if (started === undefined || Date.now() - started < 6_000) return undefined;
      const pending = (await listPods(cluster.adminKubeconfigPath, ns, { 'job-name': 'reindex' }))
        .filter((p) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable'));
      return pending.length === 1 ? pending : undefined;
    }, { what: 'the Job active for over 5 s with an Unschedulable pod', timeoutMs: 60_000 });

    // Act
    const { queued } = await scan();

    // Assess: two symptoms, two incidents (the pod's group is owned by the Job).
    expect(summary(queued, ns).map(({ symptom, subject }) => ({ symptom, subject }))).toEqual([
      { symptom: 'JobStuck', subject: 'Job/reindex' },
      { symptom: 'PodUnschedulable', subject: `Pod/${podNames(pods)[0]}` },
    ]);
    expect(queued.find((i) => i.symptom === 'PodUnschedulable' && i.subject.namespace === ns)?.annotations.description).toBe('1 Pod of Job/reindex with PodUnschedulable');
  });

  it('reports a node whose kubelet never reports, with an empty namespace', async () => {
    // Prepare: wait out the node lifecycle controller's startup grace period (see lostNode).
    const core = loadKubeConfig(cluster.adminKubeconfigPath).makeApiClient(CoreV1Api);
    await waitFor(async () => {
      const node = await core.readNode({ name: lostNode });
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'Unknown');
    }, { what: `node ${lostNode} Ready=Unknown`, timeoutMs: 120_000, intervalMs: 1_000 });

    // Act
    await scan();

    // Assess: exactly once over the file (an earlier case's scan may have been the one to see it first).
    expect(everQueued.filter((i) => i.subject.kind === 'Node' && i.subject.name === lostNode)).toEqual([
      expect.objectContaining({
        id: incidentId('local', '', 'Node', lostNode, 'NodeNotReady'),
        symptom: 'NodeNotReady',
        subject: { kind: 'Node', name: lostNode, namespace: '' },
      }),
    ]);
  }, 150_000);
});
