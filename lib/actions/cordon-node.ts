import * as z from '../util/schema.js';
import { isPlannedObject, planned, refuse, where, type Action } from './action.js';

/** Take a NotReady node out of scheduling; no drain. A human uncordons: the healer never does. */
export const cordonNode: Action<'cordon-node'> = {
  spec: {
    id: 'cordon-node',
    description: 'cordon a Node (mark it unschedulable; no drain, running pods stay)',
    targetKinds: ['Node'],
    risk: 'high',
    reversible: true,
    // One node carries many workloads: a human confirms before it is taken out of scheduling.
    needsApproval: true,
    cooldownSeconds: 3600,
    // Nodes are registered by kubelets, not declared in git.
    changesDesiredState: false,
    scales: false,
    cordons: true,
    removesPod: false,
    isRestart: false,
    needsJobStuckSeconds: false,
    parameters: z.strictObject({}),
    verifyWithinSeconds: 120,
  },
  pinnedToVersion: true,

  plan({ evidence, inChain, parameters }) {
    const node = evidence.node;
    if (!node || node.name !== inChain.name) return refuse(`the live state of Node ${inChain.name} was not read`);
    if (!node.resourceVersion) return refuse(`the resourceVersion of Node ${node.name} is unknown`);
    const target = { kind: 'Node', name: node.name, uid: node.uid };
    return planned('cordon-node', target, node.resourceVersion, parameters, `cordon ${where(target)} (no drain)`);
  },

  stillNeeded(evidence) {
    const node = evidence.node;
    if (!node) return 'the node\'s status is unknown';
    if (node.unschedulable) return 'the node is already cordoned';
    const ready = node.conditions.find((c) => c.type === 'Ready');
    return ready?.status === 'True' ? 'the node is Ready again' : null;
  },

  async apply(client, plan, { dryRun }) {
    const resourceVersion = await client.patchNode(plan.target, { metadata: { resourceVersion: plan.resourceVersion, uid: plan.target.uid }, spec: { unschedulable: true } }, dryRun);
    return { resourceVersion };
  },

  async observe(reads, plan) {
    const node = await reads.readNode(plan.target);
    return { targetPresent: isPlannedObject(plan.target, node), unschedulable: node?.unschedulable === true };
  },

  // No revert: the node was not Ready when it was cordoned; a human decides when it takes pods again.
  judge: (_plan, seen) => (seen.unschedulable === true ? { status: 'done', detail: 'the node is cordoned' } : { status: 'failed', detail: 'the node is schedulable: the cordon did not hold' }),
};
