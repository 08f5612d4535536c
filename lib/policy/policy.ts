import { ACTION_IDS, type Decision, type Diagnosis, type Evidence, type Incident } from '../domain/types.js';
import { SYMPTOMS } from '../domain/incident-schema.js';
import { isCount, isShare, traitsOf } from './budget.js';
import { isActionId, needsApproval, specOf } from '../actions/catalog.js';
import { planAction, stillNeeded, type JobLimits, type ScaleBounds } from '../actions/plan.js';
import type { Settings } from '../config/config.js';

/**
 * Deterministic policy. Each rule looks at the facts and returns a reason to deny, or null.
 * Rules run in order; the first reason denies; a rule that throws denies (fail closed); every
 * verdict is kept for the audit trail. The model's proposal is one input, never the decision.
 */
export interface PolicyContext {
  readonly incident: Incident;
  readonly evidence: Evidence;
  readonly diagnosis: Diagnosis;
  /**
   * The settings, whole (lib/config/config.ts). Every field is required in the type; the rules
   * still check the values they use and deny on a missing or invalid one (fail closed).
   */
  readonly settings: Settings;
  /** The kill switch as read right before deciding (engaged, or unreadable: fail closed); the rule also checks settings.policy.killSwitch. */
  readonly killSwitchEngaged: boolean;
  /** A human approved exactly this action out of band (lib/approval); the model never sets this. */
  readonly approvedBy?: string;
  /** Instruction-like passages found in the cluster text of this incident (see lib/evidence/injection.ts). */
  readonly injectionMarkers?: readonly string[];
  /** Epoch ms until which the action's target is cooling down; undefined when it is not. */
  readonly cooldownUntilMs: number | undefined;
  /**
   * Actions already recorded in the current windows (StateStore.countActions with the keys of
   * budget.ts actionScopes). Needed for every action; absent means unknown, never zero.
   */
  readonly actionCounts?: {
    /** This namespace, current rate window. */
    readonly namespace?: number;
    /** The whole cluster, current rate window. */
    readonly cluster?: number;
    /** This workload, current circuit-breaker window. */
    readonly workload?: number;
  };
  /** Node counts, needed when the action cordons a node. */
  readonly nodes?: {
    /** Every node in the cluster, the target included. */
    readonly total: number;
    /** Nodes already cordoned (spec.unschedulable), the target excluded. */
    readonly cordoned: number;
    /** Nodes other than the target that are Ready and not cordoned: where its pods would go. */
    readonly schedulableOthers: number;
  };
  readonly nowMs: number;
}

export type Rule = (ctx: PolicyContext) => string | null;

const allowlisted = new Set<string>(ACTION_IDS);

/** Symptoms the healer has runbook knowledge of: every listed one except Unknown (an alert no rule maps). */
const KNOWN_SYMPTOMS: ReadonlySet<string> = new Set<string>(SYMPTOMS.filter((s) => s !== 'Unknown'));

const proposesAction = (c: PolicyContext): boolean =>
  c.diagnosis.recommendation !== 'page' && c.diagnosis.recommendation !== 'none';

/** Whether the proposed action's record declares this about itself (no unknown name does). */
const declares = (c: PolicyContext, what: 'removesPod' | 'needsJobStuckSeconds'): boolean =>
  isActionId(c.diagnosis.recommendation) && specOf(c.diagnosis.recommendation)[what];

/**
 * The inputs the rules need for this action that are absent or malformed. Each rule checks its
 * own inputs too (so reordering cannot open a hole); this names them all in one verdict.
 */
export function missingInputs(c: PolicyContext): string[] {
  if (!proposesAction(c)) return [];
  const traits = traitsOf(c.diagnosis.recommendation);
  const { budgets, policy } = c.settings;
  const checks: [string, boolean][] = [
    ['settings.maxActionsPerNamespacePerHour', isCount(budgets.maxActionsPerNamespacePerHour)],
    ['settings.maxActionsPerClusterPerHour', isCount(budgets.maxActionsPerClusterPerHour)],
    ['settings.circuitBreakerCount', isCount(budgets.circuitBreakerCount)],
    ['actionCounts.namespace', isCount(c.actionCounts?.namespace)],
    ['actionCounts.cluster', isCount(c.actionCounts?.cluster)],
    ['actionCounts.workload', isCount(c.actionCounts?.workload)],
  ];
  if (traits.changesDesiredState || traits.scales) checks.push(['evidence.governance', c.evidence.governance !== undefined]);
  if (traits.scales) checks.push(['settings.scaleBounds', scaleBoundsValid(c.settings.scale)]);
  if (declares(c, 'needsJobStuckSeconds')) checks.push(['settings.jobStuckSeconds', isCount(policy.jobStuckSeconds) && policy.jobStuckSeconds > 0]);
  if (traits.cordons) {
    checks.push(['settings.maxCordonedNodeShare', isShare(policy.maxCordonedNodeShare)], ['nodes', nodeCountsValid(c.nodes)]);
  }
  return checks.filter(([, ok]) => !ok).map(([name]) => name);
}

/** The Job threshold as planAction takes it; an absent one fails its check there (0 is no threshold). */
const jobLimitsOf = (c: PolicyContext): JobLimits => ({ jobStuckSeconds: c.settings.policy.jobStuckSeconds ?? 0 });

function scaleBoundsValid(b: ScaleBounds | undefined): b is ScaleBounds {
  return b !== undefined && isCount(b.maxReplicas) && isCount(b.maxStep) && isCount(b.maxStepPercent);
}

function nodeCountsValid(n: PolicyContext['nodes']): n is NonNullable<PolicyContext['nodes']> {
  return n !== undefined && isCount(n.total) && isCount(n.cordoned) && isCount(n.schedulableOthers)
    && n.cordoned + n.schedulableOthers + 1 <= n.total;
}

/** A limit check: deny at the limit (one more would pass it), and when either number is unknown. */
function withinLimit(what: string, taken: unknown, limit: unknown): string | null {
  if (!isCount(taken) || !isCount(limit)) return `${what}: count or limit unknown`;
  return taken >= limit ? `${what}: ${taken} already, the limit is ${limit}` : null;
}

export const RULES: readonly (readonly [string, Rule])[] = [
  ['kill-switch', (c) => (c.settings.policy.killSwitch || c.killSwitchEngaged !== false ? 'the kill switch is on' : null)],
  ['proposes-action', (c) =>
    c.diagnosis.recommendation === 'page' || c.diagnosis.recommendation === 'none'
      ? `the diagnosis recommends ${c.diagnosis.recommendation}, not an action`
      : null],
  ['known-symptom', (c) =>
    // An alert no rule maps says only that something is wrong somewhere near the subject: what, and
    // whether any action fits, is a human's call. Whatever the subject kind and the source.
    KNOWN_SYMPTOMS.has(c.incident.symptom)
      ? null
      : `the healer does not know symptom ${JSON.stringify(String(c.incident.symptom).slice(0, 64))}${c.incident.alertname ? ` (alert ${JSON.stringify(c.incident.alertname.slice(0, 64))})` : ''}: it pages and never acts`],
  ['action-allowlisted', (c) =>
    allowlisted.has(c.diagnosis.recommendation) ? null : `action "${c.diagnosis.recommendation}" is not allowlisted`],
  ['inputs-present', (c) => {
    const missing = missingInputs(c);
    return missing.length === 0 ? null : `policy inputs missing or invalid: ${missing.join(', ')}`;
  }],
  ['no-instructions-in-cluster-text', (c) =>
    // Cluster text that talks like instructions may have steered the diagnosis: a human decides.
    c.injectionMarkers && c.injectionMarkers.length > 0
      ? `cluster text contains instruction-like content: "${c.injectionMarkers[0]}"${c.injectionMarkers.length > 1 ? ` (+${c.injectionMarkers.length - 1} more)` : ''}`
      : null],
  ['same-cluster', (c) => (c.incident.cluster === c.settings.cluster ? null : `incident is for cluster ${c.incident.cluster}`)],
  ['namespace-allowed', (c) =>
    c.settings.policy.deniedNamespaces.includes(c.incident.subject.namespace)
      ? `namespace ${c.incident.subject.namespace} is protected`
      : null],
  ['not-opted-out', (c) =>
    c.evidence.namespaceOptOut
      ? c.evidence.gaps.some((g) => g.startsWith('namespace unreadable'))
        ? 'whether the namespace opted out could not be read'
        : 'the namespace opted out of healing'
      : c.evidence.optOut
        ? 'the target or its owner opted out of healing'
        : null],
  ['owner-chain-complete', (c) => {
    // An owner that was not read may have opted out, and may be the workload the cooldown and the
    // breaker count on: unknown means no. The gaps are quoted for the page; the flag decides.
    if (c.evidence.ownerChainComplete === true) return null;
    const why = c.evidence.gaps.filter((g) => g.startsWith('owner chain')).slice(0, 2).join('; ');
    return `the owner chain was not read completely, so opt-outs and the workload above the target are unknown${why ? ` (${why})` : ''}`;
  }],
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
    if (!declares(c, 'removesPod')) return null;
    return c.evidence.ownerChain.length > 1 ? null : 'the pod has no controller that would replace it';
  }],
  ['hpa-owns-replicas', (c) => {
    // Scaling a Deployment an HPA governs is undone at its next sync: page instead.
    if (!proposesAction(c) || !traitsOf(c.diagnosis.recommendation).scales) return null;
    const governance = c.evidence.governance;
    if (governance === undefined || c.evidence.gaps.some((g) => /autoscaler/i.test(g))) return 'whether an autoscaler governs the replicas is unknown';
    return governance.hpa ? `HorizontalPodAutoscaler ${governance.hpa.name} owns the replica count` : null;
  }],
  ['not-gitops-managed', (c) => {
    // A desired-state change on a GitOps target is reverted or becomes drift: page, let git change it.
    // Evicting a pod changes no desired state (its controller recreates it from the same spec).
    if (!proposesAction(c) || !traitsOf(c.diagnosis.recommendation).changesDesiredState) return null;
    const governance = c.evidence.governance;
    if (governance === undefined) return 'whether GitOps manages the target is unknown';
    return governance.gitops ? `the target is managed by ${governance.gitops}; changes go through git` : null;
  }],
  ['node-budget', (c) => {
    if (!proposesAction(c) || !traitsOf(c.diagnosis.recommendation).cordons) return null;
    const n = c.nodes;
    const share = c.settings.policy.maxCordonedNodeShare;
    if (!nodeCountsValid(n) || !isShare(share)) return 'node counts or the cordon budget are unknown';
    if (n.schedulableOthers < 1) return 'it would leave no schedulable node';
    // Tolerance: 0.29 * 100 is 28.999... in floating point.
    const after = n.cordoned + 1;
    return after > n.total * share + 1e-9
      ? `cordoning would make ${after} of ${n.total} nodes unschedulable; the budget is ${share * 100}%`
      : null;
  }],
  ['action-plan', (c) => {
    // Kind, parameters and bounds of this action, and the live object it would change (lib/actions/plan.ts).
    if (!proposesAction(c) || !isActionId(c.diagnosis.recommendation)) return null;
    if (traitsOf(c.diagnosis.recommendation).scales && !scaleBoundsValid(c.settings.scale)) return 'scale bounds are unknown';
    const planned = planAction(c.diagnosis, c.evidence, c.settings.scale ?? { maxReplicas: 0, maxStep: 0, maxStepPercent: 0 }, jobLimitsOf(c));
    return planned.ok ? null : planned.reason;
  }],
  ['confidence', (c) =>
    c.diagnosis.confidence >= c.settings.policy.minConfidence
      ? null
      : `confidence ${c.diagnosis.confidence.toFixed(2)} is below ${c.settings.policy.minConfidence}`],
  ['restart-can-help', (c) => (c.diagnosis.restartCanHelp ? null : 'the diagnosis says the action cannot help')],
  ['cooldown', (c) =>
    c.cooldownUntilMs !== undefined && c.cooldownUntilMs > c.nowMs
      ? `the workload had an action recently (done or attempted); cooling down until ${new Date(c.cooldownUntilMs).toISOString()}`
      : null],
  ['circuit-breaker', (c) => {
    // Healed K times in the window and still failing: healing is not fixing it. Deny, so it pages.
    if (!proposesAction(c)) return null;
    const reason = withinLimit('heals of this workload in the breaker window', c.actionCounts?.workload, c.settings.budgets.circuitBreakerCount);
    return reason === null ? null : `circuit breaker open: ${reason}`;
  }],
  ['namespace-rate-limit', (c) =>
    proposesAction(c)
      ? withinLimit(`actions in namespace ${c.incident.subject.namespace} this hour`, c.actionCounts?.namespace, c.settings.budgets.maxActionsPerNamespacePerHour)
      : null],
  ['cluster-rate-limit', (c) =>
    proposesAction(c)
      ? withinLimit('actions in the cluster this hour', c.actionCounts?.cluster, c.settings.budgets.maxActionsPerClusterPerHour)
      : null],
  ['still-unhealthy', (c) => {
    if (proposesAction(c) && isActionId(c.diagnosis.recommendation)) return stillNeeded(c.diagnosis.recommendation, c.evidence, jobLimitsOf(c));
    if (!c.evidence.exists) return 'the target no longer exists';
    if (c.evidence.deleting) return 'the target is already being deleted';
    return c.evidence.podReady === true ? 'the target is healthy again' : null;
  }],
];

/**
 * The policy's answer: allowed or denied, every verdict. Whether an allowed action runs dry is not
 * the policy's business: the pipeline reads settings.policy.dryRun itself (Decision.dryRun).
 */
export type PolicyVerdict = Omit<Decision, 'dryRun'>;

/** Runs every rule in order (all are evaluated, for the audit), and decides. */
export function decide(ctx: PolicyContext, rules: readonly (readonly [string, Rule])[] = RULES): PolicyVerdict {
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
    return { allowed: false, verdicts, deniedBy: denial.rule, reason: denial.reason ?? undefined };
  }
  if (rules.length === 0) return { allowed: false, verdicts, deniedBy: 'no-rules', reason: 'no policy rules' };
  const action = ctx.diagnosis.recommendation;
  const approvalRequired = isActionId(action) && needsApproval(action, ctx.settings.approval.actions ?? []) && !ctx.approvedBy;
  return { allowed: true, verdicts, ...(approvalRequired ? { approvalRequired } : {}) };
}

/**
 * The key a cooldown is kept under: the workload (the top of the owner chain), so a replaced pod
 * does not reset it, and whatever the action, so one workload gets one fix at a time: a scan
 * that sees both a crash-looping pod and its unavailable Deployment does not evict and restart.
 */
export function cooldownKey(cluster: string, evidence: Evidence): string {
  const workload = evidence.ownerChain[evidence.ownerChain.length - 1] ?? evidence.subject;
  return [cluster, workload.namespace ?? evidence.subject.namespace, workload.kind, workload.name].join('/');
}
