import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';
import { acquireControlPlane, deleteNamespace, createCrashLoopingDeployment, listPods, waitFor, type ClusterInfo } from '../support/control-plane.js';
import { localContext } from '../../lib/local/http-api.js';
import { incidentId } from '../../lib/intake/incidents.js';
import type { Incident } from '../../lib/domain/types.js';

/**
 * The scheduled-scan Lambda handler on the local control plane, with the healer's scoped identity:
 * it lists pods cluster-wide (paginated), turns crash-looping ones into incidents on the same
 * dedup + queue path as the webhook, and a second scan within the window enqueues nothing new.
 */
let cluster: ClusterInfo;
let release: () => Promise<void>;
let env: HealerEnv;
let namespace = '';
let handler: (event: ScheduledEvent, context: Context) => Promise<{ enqueued: number }>;

const scheduledEvent: ScheduledEvent = {
  version: '0', id: 'scan-1', 'detail-type': 'Scheduled Event', source: 'aws.events', account: '000000000000',
  time: new Date().toISOString(), region: 'us-east-1', resources: [], detail: {},
};

beforeAll(async () => {
  ({ cluster, release } = await acquireControlPlane());
  env = await startHealerEnv({ KUBECONFIG: cluster.healerKubeconfigPath });
  ({ handler } = await import('../../functions/scheduled-scan.js'));
}, 180_000);

afterAll(async () => {
  if (namespace) await deleteNamespace(cluster.adminKubeconfigPath, namespace);
  await env?.stop();
  await release?.();
});

describe('scheduled scan', () => {
  it('turns each crash-looping pod into one incident, and a repeat scan into none', async () => {
    // Prepare: two crash-looping pods and one healthy Deployment in a namespace of their own.
    namespace = `scan-${Date.now().toString(36)}`;
    const app = await createCrashLoopingDeployment({ namespace, name: 'api', replicas: 2, previousLog: 'connection refused', restartPeriodSeconds: 2 });
    const crashing = await waitFor(async () => {
      const pods = (await listPods(cluster.adminKubeconfigPath, namespace, app.selector)).filter((p: V1Pod) =>
        (p.status?.containerStatuses ?? []).some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff'));
      return pods.length === 2 ? pods : undefined;
    }, { what: 'two crash-looping pods', timeoutMs: 60_000 });

    const drain = async (): Promise<Incident[]> => {
      const messages: Incident[] = [];
      for (;;) {
        const { Messages = [] } = await env.moto.sqs().send(new ReceiveMessageCommand({ QueueUrl: env.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
        if (Messages.length === 0) return messages;
        messages.push(...Messages.map((m) => JSON.parse(m.Body ?? '{}') as Incident));
      }
    };

    // Act
    const first = await handler(scheduledEvent, localContext('scheduled-scan', 60_000));
    const afterFirst = await drain();
    const second = await handler(scheduledEvent, localContext('scheduled-scan', 60_000));
    const afterSecond = await drain();

    // Assess: this namespace's two pods were enqueued once (the shared cluster may hold others').
    const ours = afterFirst.filter((m) => m.subject.namespace === namespace);
    expect(ours.map((m) => m.id).sort()).toEqual(
      crashing.map((p) => incidentId('local', namespace, 'Pod', p.metadata?.name ?? '', 'CrashLoopBackOff')).sort(),
    );
    expect(ours.every((m) => m.source === 'scan' && m.symptom === 'CrashLoopBackOff')).toBe(true);
    expect(first.enqueued).toBe(afterFirst.length);
    expect(second.enqueued).toBe(afterSecond.length);
    expect(afterSecond.filter((m) => m.subject.namespace === namespace)).toEqual([]);
  });
});
