import * as z from '../util/schema.js';
import { isPlannedObject, planned, refuse, replicasLine, where, type Action } from './action.js';

/** Recreate one pod through the Eviction API; its controller starts a replacement from the same spec. */
export const evictPod: Action<'evict-pod'> = {
  spec: {
    id: 'evict-pod',
    description: 'recreate one Pod through the Eviction API (PodDisruptionBudgets hold; a refusal is never forced)',
    targetKinds: ['Pod'],
    risk: 'low',
    reversible: false,
    needsApproval: false,
    cooldownSeconds: 1800,
    // Its controller recreates the pod from the same spec: no desired state changes.
    changesDesiredState: false,
    scales: false,
    cordons: false,
    removesPod: true,
    isRestart: true,
    needsJobStuckSeconds: false,
    parameters: z.strictObject({}),
    verifyWithinSeconds: 300,
  },
  // Pinned by uid only: a pod's status changes all the time, and a replacement has another uid.
  pinnedToVersion: false,

  plan({ evidence, inChain, parameters }) {
    if (evidence.subject.kind !== 'Pod' || inChain.name !== evidence.subject.name) return refuse('evict-pod may only evict the incident\'s own pod');
    if (!inChain.uid) return refuse('the pod\'s uid is unknown: an eviction could hit a replacement');
    const target = { kind: 'Pod', name: inChain.name, namespace: evidence.subject.namespace, uid: inChain.uid };
    const owner = evidence.ownerChain[1];
    const result = planned('evict-pod', target, evidence.resourceVersion, parameters, `evict ${where(target)}`);
    return result.ok && owner?.kind === 'ReplicaSet' ? { ok: true, plan: { ...result.plan, watch: owner } } : result;
  },

  stillNeeded: (evidence) => (evidence.podReady === true ? 'the target is healthy again' : null),

  async apply(client, plan, { dryRun }) {
    // Pin to the pod we diagnosed: a replacement with the same name is not ours.
    await client.evictPod(plan.target, dryRun);
    return {};
  },

  async observe(reads, plan) {
    const { target, watch } = plan;
    const targetPresent = isPlannedObject(target, await reads.readPod(target));
    const rs = watch ? await reads.readReplicaSet(watch) : undefined;
    if (!rs) return { targetPresent };
    // Count the ReplicaSet's Ready pods other than the evicted one, from the pods themselves:
    // the ReplicaSet's status lags and may still count a pod that has just gone.
    const pods = await reads.listPods(target.namespace ?? '', rs.matchLabels);
    const replacements = pods.filter((p) => p.uid !== target.uid && !p.deleting && rs.uid !== undefined && p.ownerUids.includes(rs.uid));
    const ready = replacements.filter((p) => p.ready).length;
    return { targetPresent, replicas: { desired: rs.desired, updated: replacements.length, ready, available: ready, observedLatest: true } };
  },

  judge(_plan, seen) {
    if (seen.targetPresent) return { status: 'pending', detail: 'the evicted pod is still there' };
    const r = seen.replicas;
    if (!r) return { status: 'done', detail: 'the pod is gone (its replacement\'s readiness is not observable for this owner)' };
    return r.ready >= r.desired ? { status: 'done', detail: `the pod was replaced and its owner is Ready (${replicasLine(r)})` } : { status: 'pending', detail: `the replacement is not Ready yet (${replicasLine(r)})` };
  },
};
