import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import type { ActionResult } from '../domain/types.js';
import type { ActionPlan } from '../actions/plan.js';
import type { Observation } from '../actions/verify.js';
import type { ClusterObserver, ClusterWriter, Clock } from '../ports/index.js';
import { describeKubeError, isDisruptionBudgetRefusal, statusCodeOf } from './kube-errors.js';

/**
 * The allowlisted actions against the real API, with the healer's scoped identity. Only the write
 * gate (lib/pipeline/write-gate.ts) is given this object as a writer. Each runs as
 * a server-side dry run first (admission, RBAC, PDBs and preconditions are checked by the API
 * server itself), then for real, pinned to the uid and resourceVersion the plan was made on.
 */

/** The annotation `kubectl rollout restart` sets; the Deployment controller rolls on its change. */
export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

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

export class KubernetesActor implements ClusterWriter, ClusterObserver {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly batch: BatchV1Api;

  constructor(kubeConfig: KubeConfig, private readonly clock: Clock) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.batch = kubeConfig.makeApiClient(BatchV1Api);
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
      const resourceVersion = await this.apply(plan, dryRun ? 'All' : undefined);
      return { ...base, ok: true, detail: dryRun ? 'dry run accepted' : `${plan.summary}: accepted`, ...(resourceVersion && !dryRun ? { resourceVersion } : {}) };
    } catch (error) {
      const refusal = refusalOf(error);
      if (refusal !== undefined) return { ...base, ok: false, detail: `${refusal} (${describe(error)})` };
      throw error;
    }
  }

  /** One API call per action; returns the new resourceVersion where the API answers with the object. */
  private async apply(plan: ActionPlan, dryRun: 'All' | undefined): Promise<string | undefined> {
    const { target } = plan;
    const namespace = target.namespace ?? '';
    switch (plan.action) {
      case 'evict-pod':
        await this.core.createNamespacedPodEviction({
          name: target.name,
          namespace,
          dryRun,
          body: {
            apiVersion: 'policy/v1',
            kind: 'Eviction',
            metadata: { name: target.name, namespace },
            // Pin to the pod we diagnosed: a replacement with the same name is not ours.
            deleteOptions: target.uid ? { preconditions: { uid: target.uid } } : undefined,
          },
        });
        return undefined;
      case 'rollout-restart': {
        const patched = await this.apps.patchNamespacedDeployment(
          {
            name: target.name,
            namespace,
            dryRun,
            fieldManager: 'k8s-healer',
            // resourceVersion in a patch body is an optimistic-concurrency precondition.
            body: {
              metadata: { resourceVersion: plan.resourceVersion, uid: target.uid },
              spec: { template: { metadata: { annotations: { [RESTARTED_AT]: new Date(this.clock.now()).toISOString() } } } },
            },
          },
          mergePatch,
        );
        return patched.metadata?.resourceVersion;
      }
      case 'scale-deployment': {
        const replicas = plan.parameters['replicas'];
        if (replicas === undefined) throw new Error('scale plan without replicas');
        const scaled = await this.apps.replaceNamespacedDeploymentScale({
          name: target.name,
          namespace,
          dryRun,
          fieldManager: 'k8s-healer',
          body: {
            apiVersion: 'autoscaling/v1',
            kind: 'Scale',
            metadata: { name: target.name, namespace, resourceVersion: plan.resourceVersion, uid: target.uid },
            spec: { replicas },
          },
        });
        return scaled.metadata?.resourceVersion;
      }
      case 'delete-job':
        // Background: the Job goes at once and the garbage collector removes its pods. Pinned by
        // uid only: a stuck Job's status may tick (ready counts) without anything changing.
        // With a body the API server reads the options from it, not from the query: the policy
        // must be in the body, or batch/v1's default (orphan the pods) applies.
        await this.batch.deleteNamespacedJob({
          name: target.name,
          namespace,
          dryRun,
          body: { propagationPolicy: 'Background', preconditions: { uid: target.uid }, ...(dryRun ? { dryRun: [dryRun] } : {}) },
        });
        return undefined;
      case 'cordon-node': {
        const patched = await this.core.patchNode(
          {
            name: target.name,
            dryRun,
            fieldManager: 'k8s-healer',
            body: { metadata: { resourceVersion: plan.resourceVersion, uid: target.uid }, spec: { unschedulable: true } },
          },
          mergePatch,
        );
        return patched.metadata?.resourceVersion;
      }
    }
  }

  async observe(plan: ActionPlan): Promise<Observation> {
    const { target } = plan;
    const namespace = target.namespace ?? '';
    const present = (meta: { uid?: string; deletionTimestamp?: Date } | undefined) =>
      meta !== undefined && (target.uid === undefined || meta.uid === target.uid) && meta.deletionTimestamp === undefined;
    const orAbsent = async <T>(read: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await read();
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    };
    switch (plan.action) {
      case 'evict-pod': {
        const pod = await orAbsent(() => this.core.readNamespacedPod({ name: target.name, namespace }));
        const watch = plan.watch;
        const rs = watch ? await orAbsent(() => this.apps.readNamespacedReplicaSet({ name: watch.name, namespace })) : undefined;
        if (!rs) return { targetPresent: present(pod?.metadata) };
        // Count the ReplicaSet's Ready pods other than the evicted one, from the pods themselves:
        // the ReplicaSet's status lags and may still count a pod that has just gone.
        const selector = Object.entries(rs.spec?.selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
        const pods = selector ? (await this.core.listNamespacedPod({ namespace, labelSelector: selector, limit: 500 })).items : [];
        const replacements = pods.filter((p) =>
          p.metadata?.uid !== target.uid &&
          p.metadata?.deletionTimestamp === undefined &&
          p.metadata?.ownerReferences?.some((o) => o.uid === rs.metadata?.uid) === true);
        const ready = replacements.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true).length;
        return {
          targetPresent: present(pod?.metadata),
          replicas: { desired: rs.spec?.replicas ?? 0, updated: replacements.length, ready, available: ready, observedLatest: true },
        };
      }
      case 'rollout-restart':
      case 'scale-deployment': {
        const d = await orAbsent(() => this.apps.readNamespacedDeployment({ name: target.name, namespace }));
        if (!d || !present(d.metadata)) return { targetPresent: false };
        return {
          targetPresent: true,
          replicas: {
            desired: d.spec?.replicas ?? 1,
            updated: d.status?.updatedReplicas ?? 0,
            ready: d.status?.readyReplicas ?? 0,
            available: d.status?.availableReplicas ?? 0,
            observedLatest: (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0),
          },
        };
      }
      case 'delete-job': {
        const job = await orAbsent(() => this.batch.readNamespacedJob({ name: target.name, namespace }));
        return { targetPresent: present(job?.metadata) };
      }
      case 'cordon-node': {
        const node = await orAbsent(() => this.core.readNode({ name: target.name }));
        return { targetPresent: present(node?.metadata), unschedulable: node?.spec?.unschedulable === true };
      }
    }
  }

  /**
   * Scale back to the count before, only while the Deployment still has exactly the count we set
   * (the read's resourceVersion pins the write). Other actions are not undone by the healer.
   */
  async revert(plan: ActionPlan, opts: { dryRun: boolean }): Promise<ActionResult> {
    const base = { action: plan.action, target: plan.target };
    if (plan.action !== 'scale-deployment' || plan.fromReplicas === undefined) {
      return { ...base, ok: false, detail: `${plan.action} is not reverted by the healer` };
    }
    const namespace = plan.target.namespace ?? '';
    try {
      const scale = await this.apps.readNamespacedDeploymentScale({ name: plan.target.name, namespace });
      if (plan.target.uid === undefined || scale.metadata?.uid !== plan.target.uid) {
        return { ...base, ok: false, detail: 'not reverted: the Deployment was replaced since the healer scaled it' };
      }
      if (scale.spec?.replicas !== plan.parameters['replicas']) {
        return { ...base, ok: false, detail: `not reverted: the replica count is now ${scale.spec?.replicas ?? '?'}, not the ${plan.parameters['replicas'] ?? '?'} the healer set` };
      }
      const reverted = await this.apps.replaceNamespacedDeploymentScale({
        name: plan.target.name,
        namespace,
        dryRun: opts.dryRun ? 'All' : undefined,
        fieldManager: 'k8s-healer',
        body: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: plan.target.name, namespace, resourceVersion: scale.metadata?.resourceVersion, uid: plan.target.uid }, spec: { replicas: plan.fromReplicas } },
      });
      if (opts.dryRun) return { ...base, ok: true, detail: `server-side dry run of scaling back to ${plan.fromReplicas} accepted; not applied (dry-run mode)` };
      return { ...base, ok: true, detail: `scaled back to ${plan.fromReplicas}`, resourceVersion: reverted.metadata?.resourceVersion };
    } catch (error) {
      const refusal = refusalOf(error);
      if (refusal !== undefined) return { ...base, ok: false, detail: `not reverted: ${refusal} (${describe(error)})` };
      throw error;
    }
  }
}
