import * as z from '../util/schema.js';
import type { ActionId } from '../domain/types.js';

/**
 * The closed list of things the healer may ever do to a cluster, each with its safety metadata
 * declared here, in code, where a reviewer sees it next to the others. Policy, planning, the
 * prompt and the approval flow all read this one table; nothing else defines an action.
 */
export interface ActionSpec {
  readonly id: ActionId;
  /** What the action does, in one line a human and the model both read. */
  readonly description: string;
  /** The kinds it may be aimed at; the target must also lie in the incident's owner chain. */
  readonly targetKinds: readonly string[];
  readonly risk: 'low' | 'medium' | 'high';
  /** Whether the healer can undo it (and does, when verification fails and undoing is safe). */
  readonly reversible: boolean;
  /** True: the action runs only after a human approves it out of band (HMAC-signed link). */
  readonly needsApproval: boolean;
  /** Default cooldown per target after the action (HEALER_COOLDOWN_SECONDS overrides all). */
  readonly cooldownSeconds: number;
  /** Changes an object's desired state (a GitOps controller would revert it or report drift). */
  readonly changesDesiredState: boolean;
  /** Sets a replica count (an HPA owns that number where there is one). */
  readonly scales: boolean;
  /** Marks a node unschedulable (draws on the node budget). */
  readonly cordons: boolean;
  /** Its parameters: anything else a diagnosis proposes is rejected. */
  readonly parameters: z.ZodMiniType<Readonly<Record<string, number>>>;
  /** How long verification may take before it counts as failed. */
  readonly verifyWithinSeconds: number;
}

const noParameters = z.strictObject({});

export const ACTIONS: Readonly<Record<ActionId, ActionSpec>> = Object.freeze({
  'evict-pod': {
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
    parameters: noParameters,
    verifyWithinSeconds: 300,
  },
  'rollout-restart': {
    id: 'rollout-restart',
    description: 'rolling restart of a Deployment (sets the restartedAt annotation on its pod template)',
    targetKinds: ['Deployment'],
    risk: 'medium',
    reversible: false,
    needsApproval: false,
    cooldownSeconds: 3600,
    changesDesiredState: true,
    scales: false,
    cordons: false,
    parameters: noParameters,
    verifyWithinSeconds: 600,
  },
  'scale-deployment': {
    id: 'scale-deployment',
    description: 'scale a Deployment up through the scale subresource, within the configured bounds (parameters.replicas = the new count)',
    targetKinds: ['Deployment'],
    risk: 'medium',
    reversible: true,
    needsApproval: false,
    cooldownSeconds: 3600,
    changesDesiredState: true,
    scales: true,
    cordons: false,
    parameters: z.strictObject({ replicas: z.number().check(z.int(), z.gte(1), z.lte(10_000)) }),
    verifyWithinSeconds: 600,
  },
  'delete-job': {
    id: 'delete-job',
    description: 'delete a stuck Job with background propagation (its pods are removed by the garbage collector; a CronJob starts the next run on schedule)',
    targetKinds: ['Job'],
    risk: 'medium',
    reversible: false,
    needsApproval: false,
    cooldownSeconds: 3600,
    // A Job is a run, not a declared workload: deleting a stuck one does not fight git.
    changesDesiredState: false,
    scales: false,
    cordons: false,
    parameters: noParameters,
    verifyWithinSeconds: 300,
  },
  'cordon-node': {
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
    parameters: noParameters,
    verifyWithinSeconds: 120,
  },
} satisfies Record<ActionId, ActionSpec>);

export function isActionId(value: string): value is ActionId {
  return Object.hasOwn(ACTIONS, value);
}

export function specOf(action: ActionId): ActionSpec {
  return ACTIONS[action];
}

/**
 * Whether an action needs approval at this site: its own declaration, or the operators' list
 * (HEALER_APPROVAL_ACTIONS), which can only add approvals, never remove the code's.
 */
export function needsApproval(action: ActionId, alsoRequired: readonly string[]): boolean {
  return ACTIONS[action].needsApproval || alsoRequired.includes(action);
}
