import { ACTION_IDS, type Decision, type Diagnosis, type Evidence, type Incident } from '../domain/types.js';

/**
 * Deterministic policy. Each rule looks at the facts and returns a reason to deny, or null.
 * Rules run in order; the first reason denies; a rule that throws denies (fail closed); every
 * verdict is kept for the audit trail. The model's proposal is one input, never the decision.
 */
export interface PolicyContext {
  readonly incident: Incident;
  readonly evidence: Evidence;
  readonly diagnosis: Diagnosis;
  readonly settings: {
    readonly killSwitch: boolean;
    readonly dryRun: boolean;
    readonly deniedNamespaces: readonly string[];
    readonly minConfidence: number;
    readonly cluster: string;
  };
  /** Epoch ms until which the action's target is cooling down; undefined when it is not. */
  readonly cooldownUntilMs: number | undefined;
  readonly nowMs: number;
}

export type Rule = (ctx: PolicyContext) => string | null;

const allowlisted = new Set<string>(ACTION_IDS);

export const RULES: readonly (readonly [string, Rule])[] = [
  ['kill-switch', (c) => (c.settings.killSwitch ? 'the kill switch is on' : null)],
  ['proposes-action', (c) =>
    c.diagnosis.recommendation === 'page' || c.diagnosis.recommendation === 'none'
      ? `the diagnosis recommends ${c.diagnosis.recommendation}, not an action`
      : null],
  ['action-allowlisted', (c) =>
    allowlisted.has(c.diagnosis.recommendation) ? null : `action "${c.diagnosis.recommendation}" is not allowlisted`],
  ['same-cluster', (c) => (c.incident.cluster === c.settings.cluster ? null : `incident is for cluster ${c.incident.cluster}`)],
  ['namespace-allowed', (c) =>
    c.settings.deniedNamespaces.includes(c.incident.subject.namespace)
      ? `namespace ${c.incident.subject.namespace} is protected`
      : null],
  ['not-opted-out', (c) =>
    c.evidence.namespaceOptOut
      ? 'the namespace opted out of healing'
      : c.evidence.optOut
        ? 'the target or its owner opted out of healing'
        : null],
  ['target-in-owner-chain', (c) => {
    const t = c.diagnosis.target;
    if (!t) return 'the diagnosis names no target';
    const inChain = c.evidence.ownerChain.some(
      (o) => o.kind === t.kind && o.name === t.name && (o.namespace ?? c.incident.subject.namespace) === (t.namespace ?? c.incident.subject.namespace),
    );
    return inChain ? null : `target ${t.kind}/${t.name} is not in the incident's owner chain`;
  }],
  ['evict-needs-controller', (c) => {
    // Evicting a bare pod deletes it for good; only pods some controller recreates may be evicted.
    if (c.diagnosis.recommendation !== 'evict-pod') return null;
    return c.evidence.ownerChain.length > 1 ? null : 'the pod has no controller that would replace it';
  }],
  ['confidence', (c) =>
    c.diagnosis.confidence >= c.settings.minConfidence
      ? null
      : `confidence ${c.diagnosis.confidence.toFixed(2)} is below ${c.settings.minConfidence}`],
  ['restart-can-help', (c) => (c.diagnosis.restartCanHelp ? null : 'the diagnosis says a restart cannot help')],
  ['cooldown', (c) =>
    c.cooldownUntilMs !== undefined && c.cooldownUntilMs > c.nowMs
      ? `the target was healed recently; cooling down until ${new Date(c.cooldownUntilMs).toISOString()}`
      : null],
  ['still-unhealthy', (c) => {
    if (!c.evidence.exists) return 'the target no longer exists';
    if (c.evidence.deleting) return 'the target is already being deleted';
    return c.evidence.podReady === true ? 'the target is healthy again' : null;
  }],
];

/** Runs every rule in order (all are evaluated, for the audit), and decides. */
export function decide(ctx: PolicyContext, rules: readonly (readonly [string, Rule])[] = RULES): Decision {
  const verdicts: { rule: string; reason: string | null }[] = [];
  for (const [name, rule] of rules) {
    let reason: string | null;
    try {
      reason = rule(ctx);
      if (reason !== null && typeof reason !== 'string') reason = `rule returned ${typeof reason}`;
    } catch (error) {
      reason = `rule failed: ${error instanceof Error ? error.message : String(error)}`;
    }
    verdicts.push({ rule: name, reason });
  }
  const denial = verdicts.find((v) => v.reason !== null);
  if (denial) {
    return { allowed: false, verdicts, deniedBy: denial.rule, reason: denial.reason ?? undefined, dryRun: ctx.settings.dryRun };
  }
  if (rules.length === 0) return { allowed: false, verdicts, deniedBy: 'no-rules', reason: 'no policy rules', dryRun: ctx.settings.dryRun };
  return { allowed: true, verdicts, dryRun: ctx.settings.dryRun };
}

/** The key a cooldown is kept under: the workload, so a replaced pod does not reset it. */
export function cooldownKey(cluster: string, evidence: Evidence, action: string): string {
  const workload = evidence.ownerChain[evidence.ownerChain.length - 1] ?? evidence.subject;
  return [cluster, workload.namespace ?? evidence.subject.namespace, workload.kind, workload.name, action].join('/');
}
