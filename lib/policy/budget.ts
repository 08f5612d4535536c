import type { Evidence } from '../domain/types.js';
import { ACTIONS, isActionId } from '../actions/catalog.js';
import type { Settings } from '../config/config.js';

/**
 * What each action does to the cluster, and the blast-radius budget every action draws on.
 * Pure data and helpers: the policy rules read them, and the pipeline uses the same scope keys
 * to count actions (before deciding) and to record them atomically (before acting).
 */

/** What an action does to the cluster, as the policy rules need to know it (declared in each action's record, lib/actions/<id>.ts). */
export interface ActionTraits {
  /** Changes an object's desired state: a GitOps controller would revert it, so GitOps targets are paged. */
  readonly changesDesiredState: boolean;
  /** Sets a replica count: an HPA owns that number where there is one. */
  readonly scales: boolean;
  /** Marks a node unschedulable: draws on the node budget. */
  readonly cordons: boolean;
}

/** The catalog's traits; a name outside the catalog is assumed to change desired state (the cautious default). */
export function traitsOf(action: string): ActionTraits {
  if (isActionId(action)) {
    const { changesDesiredState, scales, cordons } = ACTIONS[action];
    return { changesDesiredState, scales, cordons };
  }
  return { changesDesiredState: true, scales: action.startsWith('scale-'), cordons: action.startsWith('cordon-') };
}

/** Rate limits are per hour (HEALER_MAX_ACTIONS_PER_*_PER_HOUR): one fixed window. */
export const RATE_WINDOW_SECONDS = 3600;

/** A count or limit as the policy accepts it: a finite, non-negative integer. Anything else is missing. */
export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function isShare(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1;
}

export interface ActionScopes {
  readonly namespace: string;
  readonly cluster: string;
  /** The workload (top of the owner chain), so the breaker counts heals across replacement pods. */
  readonly workload: string;
}

/** The counter keys one action on this evidence counts against. */
export function actionScopes(cluster: string, evidence: Evidence): ActionScopes {
  const workload = evidence.ownerChain[evidence.ownerChain.length - 1] ?? evidence.subject;
  const namespace = workload.namespace ?? evidence.subject.namespace;
  return {
    namespace: `namespace#${cluster}/${namespace}`,
    cluster: `cluster#${cluster}`,
    workload: `workload#${[cluster, namespace, workload.kind, workload.name].join('/')}`,
  };
}

/** The limits an action's counters are checked against: settings.budgets (lib/config/config.ts). */
export type BudgetSettings = Pick<Settings['budgets'], 'maxActionsPerNamespacePerHour' | 'maxActionsPerClusterPerHour' | 'circuitBreakerCount' | 'circuitBreakerWindowSeconds'>;

/** One StateStore counting/recording call: the scopes, each scope's limit, the window. */
export interface CounterCall {
  readonly scopeKeys: readonly string[];
  readonly limits: Readonly<Record<string, number>>;
  readonly windowSeconds: number;
}

/**
 * The two counter calls an action makes: the rate limits (namespace and cluster, one hour) and
 * the circuit breaker (the workload, its own window). Two calls because the windows differ.
 */
export function actionBudget(scopes: ActionScopes, settings: BudgetSettings): { readonly rate: CounterCall; readonly breaker: CounterCall } {
  return {
    rate: {
      scopeKeys: [scopes.namespace, scopes.cluster],
      limits: { [scopes.namespace]: settings.maxActionsPerNamespacePerHour, [scopes.cluster]: settings.maxActionsPerClusterPerHour },
      windowSeconds: RATE_WINDOW_SECONDS,
    },
    breaker: {
      scopeKeys: [scopes.workload],
      limits: { [scopes.workload]: settings.circuitBreakerCount },
      windowSeconds: settings.circuitBreakerWindowSeconds,
    },
  };
}
