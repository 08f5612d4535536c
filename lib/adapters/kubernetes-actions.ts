import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import type { ActionResult, ObjectRef } from '../domain/types.js';
import type { ActionPlan } from '../actions/plan.js';
import type { Observation } from '../actions/verify.js';
import { actionOf } from '../actions/registry.js';
import type { ActionClient, ActionReads, LiveObject, LivePod, MergePatch, ScaleState } from '../actions/client.js';
import type { ClusterObserver, ClusterWriter, Clock } from '../ports/index.js';
import { describeKubeError, isDisruptionBudgetRefusal, statusCodeOf } from './kube-errors.js';

/**
 * The allowlisted actions against the real API, with the healer's scoped identity. Only the write
 * gate (lib/pipeline/write-gate.ts) is given this object as a writer. What each action writes and
 * reads is its record's (lib/actions/<id>.ts), through the narrow ports of lib/actions/client.ts
 * implemented once below. Each write runs as a server-side dry run first (admission, RBAC, PDBs
 * and preconditions are checked by the API server itself), then for real, pinned to the uid and
 * resourceVersion the plan was made on.
 */

export { RESTARTED_AT } from '../actions/rollout-restart.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

const describe = describeKubeError;
const statusOf = statusCodeOf;

/**
 * API answers that are refusals (the request was understood and said no), not outages. A 429 is
 * one only when a disruption budget said it; a throttling 429 is thrown, so the incident retries.
 */
const REFUSALS: Readonly<Record<number, string>> = {
  403: 'forbidden for the healer\'s identity',
  404: 'the target no longer exists',
  409: 'the target changed since the plan was made (resourceVersion/uid precondition failed)',
  422: 'the API server rejected the request as invalid',
};
const PDB_REFUSAL = 'PodDisruptionBudget refused the eviction; not forced';

function refusalOf(error: unknown): string | undefined {
  if (isDisruptionBudgetRefusal(error)) return PDB_REFUSAL;
  const status = statusOf(error);
  return status === undefined ? undefined : REFUSALS[status];
}

/**
 * How many times a revert runs when its write meets a conflict. A revert reads the object it pins
 * to itself, so a conflict means someone wrote between its read and its write (on a Deployment
 * whose new pods fail, the controller's status updates do, often): read, check, write again.
 */
export const REVERT_TRIES = 3;

export interface KubernetesActorOptions {
  /** Stands between the actor and the API client: how a test puts another writer between a read and a write. */
  readonly interpose?: (client: ActionClient) => ActionClient;
}

export class KubernetesActor implements ClusterWriter, ClusterObserver {
  private readonly client: ActionClient;
  private readonly reads: ActionReads;

  constructor(kubeConfig: KubeConfig, private readonly clock: Clock, options: KubernetesActorOptions = {}) {
    const api = new KubernetesActionApi(kubeConfig);
    // Two views of one client: observing is typed read-only.
    this.client = options.interpose ? options.interpose(api) : api;
    this.reads = api;
  }

  async execute(plan: ActionPlan, opts: { dryRun: boolean }): Promise<ActionResult> {
    const rehearsal = await this.attempt(plan, true);
    if (!rehearsal.ok) return { ...rehearsal, detail: `server-side dry run refused: ${rehearsal.detail}` };
    if (opts.dryRun) return { ...rehearsal, detail: `server-side dry run accepted; not applied (dry-run mode): ${plan.summary}` };
    return this.attempt(plan, false);
  }

  private async attempt(plan: ActionPlan, dryRun: boolean): Promise<ActionResult> {
    const base = { action: plan.action, target: plan.target };
    try {
      const { resourceVersion } = await actionOf(plan.action).apply(this.client, plan, { dryRun, nowMs: this.clock.now() });
      return { ...base, ok: true, detail: dryRun ? 'dry run accepted' : `${plan.summary}: accepted`, ...(resourceVersion && !dryRun ? { resourceVersion } : {}) };
    } catch (error) {
      const refusal = refusalOf(error);
      if (refusal !== undefined) return { ...base, ok: false, detail: `${refusal} (${describe(error)})` };
      throw error;
    }
  }

  observe(plan: ActionPlan): Promise<Observation> {
    return actionOf(plan.action).observe(this.reads, plan);
  }

  /** Undoes an action only where its record has a revert; the record checks the object still shows our change. */
  async revert(plan: ActionPlan, opts: { dryRun: boolean }): Promise<ActionResult> {
    const base = { action: plan.action, target: plan.target };
    const revert = actionOf(plan.action).revert;
    if (!revert) return { ...base, ok: false, detail: `${plan.action} is not reverted by the healer` };
    for (let attempt = 1; ; attempt++) {
      try {
        const { resourceVersion, ...outcome } = await revert.apply(this.client, plan, opts);
        return { ...base, ...outcome, ...(outcome.ok && !opts.dryRun ? { resourceVersion } : {}) };
      } catch (error) {
        if (statusOf(error) === 409 && attempt < REVERT_TRIES) continue;
        const refusal = refusalOf(error);
        const tries = statusOf(error) === 409 ? `, ${attempt} tries` : '';
        if (refusal !== undefined) return { ...base, ok: false, detail: `not reverted: ${refusal} (${describe(error)}${tries})` };
        throw error;
      }
    }
  }
}

/** The narrow ports of lib/actions/client.ts over @kubernetes/client-node; 404 on a read is absent. */
class KubernetesActionApi implements ActionClient, ActionReads {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly batch: BatchV1Api;

  constructor(kubeConfig: KubeConfig) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.batch = kubeConfig.makeApiClient(BatchV1Api);
  }

  async evictPod(pod: ObjectRef, dryRun: boolean): Promise<void> {
    const namespace = pod.namespace ?? '';
    await this.core.createNamespacedPodEviction({
      name: pod.name,
      namespace,
      dryRun: dryRunOf(dryRun),
      body: {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: pod.name, namespace },
        deleteOptions: pod.uid ? { preconditions: { uid: pod.uid } } : undefined,
      },
    });
  }

  async patchDeployment(deployment: ObjectRef, patch: MergePatch, dryRun: boolean): Promise<string | undefined> {
    const patched = await this.apps.patchNamespacedDeployment(
      { name: deployment.name, namespace: deployment.namespace ?? '', dryRun: dryRunOf(dryRun), fieldManager: 'k8s-healer', body: patch },
      mergePatch,
    );
    return patched.metadata?.resourceVersion;
  }

  async patchNode(node: ObjectRef, patch: MergePatch, dryRun: boolean): Promise<string | undefined> {
    const patched = await this.core.patchNode({ name: node.name, dryRun: dryRunOf(dryRun), fieldManager: 'k8s-healer', body: patch }, mergePatch);
    return patched.metadata?.resourceVersion;
  }

  async readDeploymentScale(deployment: ObjectRef): Promise<ScaleState> {
    const scale = await this.apps.readNamespacedDeploymentScale({ name: deployment.name, namespace: deployment.namespace ?? '' });
    return { uid: scale.metadata?.uid, replicas: scale.spec?.replicas, resourceVersion: scale.metadata?.resourceVersion };
  }

  async replaceDeploymentScale(deployment: ObjectRef, replicas: number, resourceVersion: string | undefined, dryRun: boolean): Promise<string | undefined> {
    const namespace = deployment.namespace ?? '';
    const scaled = await this.apps.replaceNamespacedDeploymentScale({
      name: deployment.name,
      namespace,
      dryRun: dryRunOf(dryRun),
      fieldManager: 'k8s-healer',
      body: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: deployment.name, namespace, resourceVersion, uid: deployment.uid }, spec: { replicas } },
    });
    return scaled.metadata?.resourceVersion;
  }

  async deleteJob(job: ObjectRef, dryRun: boolean): Promise<void> {
    // Background: the Job goes at once and the garbage collector removes its pods.
    // With a body the API server reads the options from it, not from the query: the policy
    // must be in the body, or batch/v1's default (orphan the pods) applies.
    await this.batch.deleteNamespacedJob({
      name: job.name,
      namespace: job.namespace ?? '',
      dryRun: dryRunOf(dryRun),
      body: { propagationPolicy: 'Background', preconditions: { uid: job.uid }, ...(dryRun ? { dryRun: ['All'] } : {}) },
    });
  }

  async readPod(pod: ObjectRef): Promise<LiveObject | undefined> {
    const read = await orAbsent(() => this.core.readNamespacedPod({ name: pod.name, namespace: pod.namespace ?? '' }));
    return read && live(read.metadata);
  }

  async readJob(job: ObjectRef): Promise<LiveObject | undefined> {
    const read = await orAbsent(() => this.batch.readNamespacedJob({ name: job.name, namespace: job.namespace ?? '' }));
    return read && live(read.metadata);
  }

  async readNode(node: ObjectRef): Promise<(LiveObject & { readonly unschedulable: boolean }) | undefined> {
    const read = await orAbsent(() => this.core.readNode({ name: node.name }));
    return read && { ...live(read.metadata), unschedulable: read.spec?.unschedulable === true };
  }

  async readDeployment(deployment: ObjectRef): ReturnType<ActionReads['readDeployment']> {
    const d = await orAbsent(() => this.apps.readNamespacedDeployment({ name: deployment.name, namespace: deployment.namespace ?? '' }));
    return d && {
      ...live(d.metadata),
      replicas: {
        desired: d.spec?.replicas ?? 1,
        updated: d.status?.updatedReplicas ?? 0,
        ready: d.status?.readyReplicas ?? 0,
        available: d.status?.availableReplicas ?? 0,
        observedLatest: (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0),
      },
    };
  }

  async readReplicaSet(replicaSet: ObjectRef): ReturnType<ActionReads['readReplicaSet']> {
    const rs = await orAbsent(() => this.apps.readNamespacedReplicaSet({ name: replicaSet.name, namespace: replicaSet.namespace ?? '' }));
    return rs && { ...live(rs.metadata), desired: rs.spec?.replicas ?? 0, matchLabels: rs.spec?.selector.matchLabels ?? {} };
  }

  async listPods(namespace: string, matchLabels: Readonly<Record<string, string>>): Promise<readonly LivePod[]> {
    const selector = Object.entries(matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
    if (!selector) return [];
    const pods = (await this.core.listNamespacedPod({ namespace, labelSelector: selector, limit: 500 })).items;
    return pods.map((p) => ({
      ...live(p.metadata),
      ownerUids: (p.metadata?.ownerReferences ?? []).map((o) => o.uid),
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
    }));
  }
}

const dryRunOf = (dryRun: boolean): 'All' | undefined => (dryRun ? 'All' : undefined);

const live = (meta: { uid?: string; deletionTimestamp?: Date } | undefined): LiveObject => ({ uid: meta?.uid, deleting: meta?.deletionTimestamp !== undefined });

async function orAbsent<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}
