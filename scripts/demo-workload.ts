/**
 * The first run's demo, on the control plane the local run started itself (never on a cluster
 * the user brought): a Deployment whose pods crash-loop on a refused database connection until a
 * moment shortly after start, like a dependency that came back. Evicting the crash-looping pod
 * gives a replacement that runs, so the healer's whole loop shows within a minute.
 */
import { createCrashLoopingDeployment, listPods, waitFor, type ClusterInfo } from '../lib/local/control-plane.js';
import { crashLooping } from '../lib/local/scenario-workloads.js';

export const DEMO_NAMESPACE = 'healer-demo';
export const DEMO_DEPLOYMENT = 'orders-api';
/** The password in the demo's log: shown nowhere, sent nowhere (the first-run test checks). */
export const DEMO_SECRET = 'Tr0ub4dor-and-3';

const DEMO_LOG = [
  '2026-12-05T09:00:01Z INFO starting orders-api 4.2.0',
  // A credential in a log line, as real apps print them: the healer must never show or send it.
  '2026-12-05T09:00:01Z INFO connecting to postgres://orders:Tr0ub4dor-and-3@orders-db.healer-demo.svc:5432/orders',
  '2026-12-05T09:00:02Z ERROR postgres: dial tcp 10.96.14.2:5432: connect: connection refused',
  '2026-12-05T09:00:02Z FATAL cannot reach the database, exiting',
].join('\n');

export interface DemoWorkload {
  readonly namespace: string;
  readonly deployment: string;
  readonly container: string;
  /** The pod crash-looping now: the one the scan will find and the "try it" alert names. */
  readonly pod: string;
  /** Pods created after this run normally. */
  readonly recoversAt: Date;
}

export async function startDemoWorkload(cluster: ClusterInfo, o: { recoverAfterSeconds: number }): Promise<DemoWorkload> {
  const recoversAt = new Date(Date.now() + o.recoverAfterSeconds * 1000);
  const app = await createCrashLoopingDeployment({ cluster, namespace: DEMO_NAMESPACE, name: DEMO_DEPLOYMENT, previousLog: DEMO_LOG, restartPeriodSeconds: 2, crashLoopUntil: recoversAt });
  const pod = await waitFor(async () => (await listPods(cluster.adminKubeconfigPath, DEMO_NAMESPACE, app.selector)).find(crashLooping), {
    what: `a ${DEMO_DEPLOYMENT} pod to crash-loop`,
    timeoutMs: 60_000,
  });
  return { namespace: DEMO_NAMESPACE, deployment: DEMO_DEPLOYMENT, container: app.container, pod: pod.metadata?.name ?? '', recoversAt };
}
