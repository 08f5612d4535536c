import type { ObjectRef, WorkloadStatusEvidence } from '../domain/types.js';
import { isPlannedObject, where, type Observation, type PlanInput } from './action.js';
import type { ActionReads } from './client.js';

/** What rollout-restart and scale-deployment share: the live Deployment they plan on and observe. */

export type LiveDeployment =
  | { readonly ok: true; readonly workload: WorkloadStatusEvidence; readonly resourceVersion: string; readonly target: ObjectRef }
  | { readonly ok: false; readonly reason: string };

/** The live Deployment the plan is made on, canonically named, or why there is none to plan on. */
export function liveDeployment({ evidence, inChain }: PlanInput): LiveDeployment {
  const w = evidence.workload;
  if (!w || w.kind !== 'Deployment' || w.name !== inChain.name) return { ok: false, reason: `the live state of ${where(inChain)} was not read` };
  if (!w.resourceVersion) return { ok: false, reason: `the resourceVersion of ${where(inChain)} is unknown` };
  if (w.paused) return { ok: false, reason: `${where(inChain)} is paused: a rollout is being held on purpose` };
  const target = { kind: 'Deployment', name: w.name, namespace: inChain.namespace ?? evidence.subject.namespace, uid: w.uid };
  return { ok: true, workload: w, resourceVersion: w.resourceVersion, target };
}

/** The planned Deployment's replica counts; only the target's presence when it is gone or replaced. */
export async function observeDeployment(reads: ActionReads, target: ObjectRef): Promise<Observation> {
  const d = await reads.readDeployment(target);
  if (!d || !isPlannedObject(target, d)) return { targetPresent: false };
  return { targetPresent: true, replicas: d.replicas };
}
