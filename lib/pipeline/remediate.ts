import type {
  ActionResult,
  AuditEntry,
  Decision,
  Diagnosis,
  Evidence,
  Incident,
  Notification,
  Outcome,
} from '../domain/types.js';
import type { ActionRecords, AuditLog, ClusterObserver, ClusterReader, Clock, Diagnoser, KillSwitch, Notifier, Placement, StateStore, VerificationScheduler } from '../ports/index.js';
import { randomBytes } from 'node:crypto';
import type { WriteGate } from './write-gate.js';
import { isActionId } from '../actions/catalog.js';
import { planAction, type ActionPlan } from '../actions/plan.js';
import type { Settings } from '../config/config.js';
import { cooldownFor } from '../policy/cooldown.js';
import { judge } from '../actions/verify.js';
import type { ApprovalRequester } from './approval.js';
import { cooldownKey, decide } from '../policy/policy.js';
import { actionBudget, actionScopes } from '../policy/budget.js';
import { injectionMarkersOf, withLookupMarkers } from '../evidence/injection.js';
import { buildNotification, buildShelteredPage } from './notification.js';
import type { Metrics } from '../ports/metrics.js';
import { decisionMade, verificationJudged } from '../metrics/healer-metrics.js';

export interface RemediateDeps {
  readonly reader: ClusterReader;
  /** Every write goes through the gate; the pipeline never holds a ClusterWriter. */
  readonly gate: WriteGate;
  readonly observer: ClusterObserver;
  /** What was done, for verification and revert (the queue message carries only ids). */
  readonly actionRecords: ActionRecords;
  readonly state: StateStore;
  readonly audit: AuditLog;
  readonly notifier: Notifier;
  readonly diagnoser: Diagnoser;
  readonly clock: Clock;
  /** The runtime kill switch; settings.policy.killSwitch (the deploy-time one) also stops every action. */
  readonly killSwitch?: KillSwitch;
  /** Where delayed verification re-checks go; without one, an action that is not done at once stays unverified. */
  readonly verifications?: VerificationScheduler;
  /** Creates signed approval links; without one, an action that needs approval pages without a link. */
  readonly approvals?: ApprovalRequester;
  /** Counts decisions by rule and first verifications (writes are counted by the gate, pages by the notifier). */
  readonly metrics?: Metrics;
  /** The settings, whole (lib/config/config.ts); policy and the gate read the same object. */
  readonly settings: Settings;
}

export interface RemediationReport {
  readonly incidentId: string;
  readonly outcome: Outcome;
  readonly decision?: Decision;
  readonly diagnosis?: Diagnosis;
  readonly action?: ActionResult;
  readonly plan?: ActionPlan;
}

/**
 * One incident, start to end: lock → evidence → diagnosis → policy → act → audit → notify.
 * Throws only when the incident should be retried (the lock is released first); every decision
 * that is final is audited and completes the incident, so SQS redeliveries become no-ops.
 */
export async function remediate(incident: Incident, deps: RemediateDeps, opts: { diagnoseDeadline?: number } = {}): Promise<RemediationReport> {
  const { state, clock, settings } = deps;
  const audit = (step: AuditEntry['step'], detail: Record<string, unknown>, outcome?: Outcome) =>
    deps.audit.append({ incidentId: incident.id, at: new Date(clock.now()).toISOString(), cluster: incident.cluster, step, outcome, detail });

  if (!(await state.claimIncident(incident.id, settings.intake.lockSeconds, clock.now()))) {
    return { incidentId: incident.id, outcome: 'duplicate' };
  }
  try {
    const report = await runLocked(incident, deps, audit, opts.diagnoseDeadline);
    await state.completeIncident(incident.id, settings.intake.dedupWindowSeconds, clock.now());
    return report;
  } catch (error) {
    await state.releaseIncident(incident.id);
    throw error;
  }
}

export type AuditFn = (step: AuditEntry['step'], detail: Record<string, unknown>, outcome?: Outcome) => Promise<void>;

/** What decideAndAct needs: the incident's facts, and for an approved action who approved which plan. */
export interface DecideInput {
  readonly incident: Incident;
  readonly evidence: Evidence;
  readonly diagnosis: Diagnosis;
  readonly injectionMarkers: readonly string[];
  /** Set only by the approval function, after a human approved `approvedPlan` out of band. */
  readonly approvedBy?: string;
  readonly approvedPlan?: ActionPlan;
}

export interface DecideOutcome {
  readonly decision: Decision;
  readonly plan?: ActionPlan;
  readonly action?: ActionResult;
  readonly outcome: Outcome;
  readonly approvalLink?: string;
}

/**
 * Policy on live facts, then (when allowed) exactly one action: cooldown and blast-radius budget
 * taken first, a server-side dry run, the change, a first verification. Shared by the worker and
 * the approval function, so an approved action passes the same policy as any other.
 */
/**
 * The policy's decision and the plan it allows, from live evidence and the state store's reads
 * (cooldown, counters, kill switch); writes only the audit's decision entry. `k8s-healer replay`
 * calls it with an audit that keeps nothing, to say what the healer would do.
 */
export async function decideOnce(input: DecideInput, deps: RemediateDeps, audit: AuditFn): Promise<{ decision: Decision; plan?: ActionPlan; key?: string; budget?: ReturnType<typeof actionBudget> }> {
  const { settings, clock } = deps;
  const { incident, evidence, diagnosis, injectionMarkers } = input;
  const key = isActionId(diagnosis.recommendation) ? cooldownKey(settings.cluster, evidence) : undefined;
  const cooldownUntilMs = key ? await deps.state.cooldownUntil(key, clock.now()) : undefined;
  // Counters are read only when an action is proposed; a failed read throws (retry), never reads as 0.
  const budget = key ? actionBudget(actionScopes(settings.cluster, evidence), settings.budgets) : undefined;
  const actionCounts = budget ? await countActions(deps, budget, actionScopes(settings.cluster, evidence)) : undefined;
  // The deploy-time switch on: the runtime one is not read (nor its failure audited).
  const killSwitchEngaged = settings.policy.killSwitch || (await killSwitchRead(deps, audit));
  const verdict = decide({
    incident,
    evidence,
    diagnosis,
    settings,
    killSwitchEngaged,
    cooldownUntilMs,
    actionCounts,
    ...(evidence.nodeCounts ? { nodes: evidence.nodeCounts } : {}),
    injectionMarkers,
    ...(input.approvedBy ? { approvedBy: input.approvedBy } : {}),
    nowMs: clock.now(),
  });
  // Dry run is not the policy's to decide; it is recorded with the decision for the audit and the page.
  const decision: Decision = { ...verdict, dryRun: settings.policy.dryRun };
  // The policy's action-plan rule passed, so this plan exists; it is the exact change to make.
  const planned = decision.allowed ? planAction(diagnosis, evidence, settings.scale, { jobStuckSeconds: settings.policy.jobStuckSeconds }) : undefined;
  const plan = planned?.ok ? planned.plan : undefined;
  await audit('decision', { ...decision, cooldownKey: key, liveStateAt: evidence.gatheredAt, ...(plan ? { plan } : {}) });
  return { decision, ...(plan ? { plan } : {}), ...(key ? { key } : {}), ...(budget ? { budget } : {}) };
}

export async function decideAndAct(input: DecideInput, deps: RemediateDeps, audit: AuditFn): Promise<DecideOutcome> {
  const { settings, clock } = deps;
  const { incident, evidence, diagnosis } = input;
  const { decision, plan, key, budget } = await decideOnce(input, deps, audit);
  deps.metrics?.record(decisionMade(incident, decision));

  let outcome: Outcome;
  let action: ActionResult | undefined;
  let approvalLink: string | undefined;
  if (!decision.allowed || key === undefined || plan === undefined) {
    outcome = outcomeOfDenial(decision, diagnosis, evidence);
  } else if (input.approvedPlan && !samePlan(plan, input.approvedPlan)) {
    // The approval was for the object as it was; it has changed since, so the approval is void.
    outcome = 'paged';
    await audit('approval', { refused: 'the target changed since the approval was requested', approved: input.approvedPlan, now: plan });
  } else if (decision.approvalRequired) {
    // Nothing changes now: a human approves this exact plan out of band, or nothing happens.
    let unavailable = 'approval links are not configured (HEALER_APPROVAL_*)';
    try {
      approvalLink = deps.approvals ? await deps.approvals.request(incident, diagnosis, plan, clock.now()) : undefined;
    } catch (error) {
      // No link this time: the page still goes out, with the plan, for a human to act on.
      unavailable = `the approval could not be stored: ${error instanceof Error ? error.message : String(error)}`;
    }
    outcome = approvalLink ? 'awaiting-approval' : 'paged';
    await audit('approval', approvalLink ? { requested: plan.summary, expires: 'see link' } : { requested: plan.summary, unavailable });
  } else if (!settings.policy.dryRun && !(await deps.state.startCooldown(key, cooldownFor(plan.action, settings), clock.now()))) {
    // The cooldown is taken before acting: of two racing workers, only the one that starts it acts.
    outcome = 'no-action';
    await audit('action', { skipped: 'another worker started the cooldown first', cooldownKey: key });
  } else if (!settings.policy.dryRun && budget && !(await recordWithinBudget(deps, budget, clock.now()))) {
    // Policy saw the counts before this write; a concurrent action may have used the last slot.
    outcome = 'paged';
    await audit('action', { skipped: 'a rate limit or the circuit breaker was reached by a concurrent action' });
  } else {
    const written = await deps.gate.write({ kind: 'act', incident, plan });
    action = written.result;
    outcome = !action.ok ? 'action-failed' : written.dryRun ? 'dry-run' : 'acted';
    if (written.applied) action = await firstVerification(incident, plan, action, deps, audit);
  }

  return { decision, outcome, ...(plan ? { plan } : {}), ...(action ? { action } : {}), ...(approvalLink ? { approvalLink } : {}) };
}

/**
 * Why nothing about this incident may leave the cluster, or null: a protected namespace, an
 * opt-out on the namespace, the subject or any owner, or an opt-out that could not be read.
 */
export function shelteredBy(incident: Incident, placement: Placement | undefined, deniedNamespaces: readonly string[]): string | null {
  if (deniedNamespaces.includes(incident.subject.namespace)) return `namespace ${incident.subject.namespace} is protected`;
  if (!placement) return null; // gone: the evidence step reports it, with nothing to send
  if (placement.namespaceOptOut) return `namespace ${incident.subject.namespace} opted out of healing, or could not be read`;
  if (placement.optOut) return 'the subject or one of its owners opted out of healing';
  if (!placement.complete) return `whether an owner opted out is unknown (${placement.gaps.join('; ') || 'owner chain incomplete'})`;
  return null;
}

/** The same change on the same object version: what an approval is bound to. */
export function samePlan(a: ActionPlan, b: ActionPlan): boolean {
  return a.action === b.action
    && a.target.kind === b.target.kind && a.target.name === b.target.name && (a.target.namespace ?? '') === (b.target.namespace ?? '')
    && a.target.uid === b.target.uid && a.resourceVersion === b.resourceVersion
    && JSON.stringify(Object.entries(a.parameters).sort()) === JSON.stringify(Object.entries(b.parameters).sort());
}


async function runLocked(incident: Incident, deps: RemediateDeps, audit: AuditFn, diagnoseDeadline: number | undefined): Promise<RemediationReport> {
  const { settings, clock } = deps;
  await audit('intake', { source: incident.source, symptom: incident.symptom, subject: incident.subject, alertname: incident.alertname });

  // Where the subject sits, from metadata alone, before any log or event is read: a protected or
  // opted-out place (or one whose opt-out cannot be known) gets a short page and sends nothing out.
  const placement = await deps.reader.placementOf(incident);
  const sheltered = shelteredBy(incident, placement, settings.policy.deniedNamespaces);
  if (sheltered && !settings.policy.diagnoseProtected) {
    await audit('decision', { allowed: false, deniedBy: 'protected-place', reason: sheltered, evidenceRead: false });
    deps.metrics?.record(decisionMade(incident, { allowed: false, deniedBy: 'protected-place' }));
    const page = buildShelteredPage(incident, sheltered);
    await deps.notifier.notify(page);
    await audit('notification', { subject: page.subject, severity: page.severity }, 'paged');
    await audit('outcome', { outcome: 'paged' }, 'paged');
    return { incidentId: incident.id, outcome: 'paged' };
  }

  // A storm of pods of one workload is one incident: the first to claim the workload handles it,
  // the rest are recorded as grouped into it, with no second diagnosis and no second page.
  const chain = placement?.chain;
  const workload = chain?.[chain.length - 1];
  if (incident.subject.kind === 'Pod' && chain && chain.length > 1 && workload) {
    const ownerKey = [settings.cluster, workload.namespace ?? incident.subject.namespace, workload.kind, workload.name, incident.symptom].join('/');
    const claim = await deps.state.claimOwner(ownerKey, incident.id, settings.intake.groupWindowSeconds, clock.now());
    if (!claim.claimed) {
      await audit('outcome', { outcome: 'duplicate', groupedInto: claim.holder, ownerKey }, 'duplicate');
      return { incidentId: incident.id, outcome: 'duplicate' };
    }
  }

  // The placement was read a moment ago, before the owner claim: its reads (subject, owners,
  // namespace) serve the evidence too. The live re-read below and the write gate read afresh.
  const evidence = await deps.reader.gatherEvidence(incident, { placement });
  const evidenceMarkers = injectionMarkersOf(incident, evidence);
  await audit('evidence', { ...evidenceSummary(evidence), injectionMarkers: evidenceMarkers });

  const diagnosis = await deps.diagnoser.diagnose(incident, evidence, diagnoseDeadline === undefined ? {} : { deadline: diagnoseDeadline });
  await audit('diagnosis', { ...diagnosis });
  // What the model read through its look-ups is cluster text too: its markers count the same.
  const injectionMarkers = withLookupMarkers(evidenceMarkers, diagnosis);

  // The live state right before deciding: a diagnosis can take seconds (a model, an investigation),
  // and the plan pins the very object version it acts on. Every fact is read again; the cluster
  // text (events, log tails) stays what the diagnosis saw, as do the injection markers.
  const live = isActionId(diagnosis.recommendation) ? await deps.reader.gatherEvidence(incident, { earlier: evidence }) : evidence;
  const { decision, plan, action, outcome, approvalLink } = await decideAndAct({ incident, evidence: live, diagnosis, injectionMarkers }, deps, audit);

  const notification: Notification = buildNotification({ incident, evidence, diagnosis, decision, action, outcome, approvalLink });
  await deps.notifier.notify(notification);
  await audit('notification', { subject: notification.subject, severity: notification.severity }, outcome);
  await audit('outcome', { outcome }, outcome);
  return { incidentId: incident.id, outcome, decision, diagnosis, action, plan };
}

/** How long an action's record is kept for verification re-checks (well past any verify limit). */
export const ACTION_RECORD_KEEP_SECONDS = 7 * 24 * 3600;

/**
 * Looks once right after acting (an eviction or cordon is often done at once); anything not done
 * yet is re-checked later from a delayed queue message (lib/pipeline/verify.ts), never by sleeping.
 */
async function firstVerification(incident: Incident, plan: ActionPlan, action: ActionResult, deps: RemediateDeps, audit: AuditFn): Promise<ActionResult> {
  const actedAt = deps.clock.now();
  try {
    const judgement = judge(plan, await deps.observer.observe(plan), 0);
    if (judgement.status !== 'pending') {
      await audit('verification', { attempt: 0, ...judgement });
      deps.metrics?.record(verificationJudged(incident, plan.action, judgement.status === 'done' ? 'ok' : 'failed'));
      return { ...action, verified: judgement.status === 'done', detail: `${action.detail}; ${judgement.detail}` };
    }
    if (!deps.verifications) {
      await audit('verification', { attempt: 0, ...judgement, scheduled: false, reason: 'no verification queue configured' });
      return { ...action, detail: `${action.detail}; not verified yet: ${judgement.detail}` };
    }
    // The plan stays in the state table; the message names it by ids only.
    const actionId = randomBytes(16).toString('hex');
    await deps.actionRecords.put({ actionId, incident, plan, actedAt: new Date(actedAt).toISOString() }, ACTION_RECORD_KEEP_SECONDS, actedAt);
    await deps.verifications.scheduleVerification({ type: 'verify', incidentId: incident.id, actionId, attempt: 1 }, deps.settings.budgets.verifyDelaySeconds);
    await audit('verification', { attempt: 0, ...judgement, scheduledInSeconds: deps.settings.budgets.verifyDelaySeconds });
    return { ...action, detail: `${action.detail}; verification re-checks in ${deps.settings.budgets.verifyDelaySeconds} s` };
  } catch (error) {
    // The action happened; a failed first look must not make the incident retry (and act twice).
    await audit('verification', { attempt: 0, error: error instanceof Error ? error.message : String(error) });
    return { ...action, detail: `${action.detail}; verification could not start` };
  }
}

/** The runtime kill switch. Fails closed: one that cannot be read counts as engaged (and the audit says why). */
async function killSwitchRead(deps: RemediateDeps, audit: AuditFn): Promise<boolean> {
  if (!deps.killSwitch) return false;
  try {
    return await deps.killSwitch.engaged();
  } catch (error) {
    await audit('decision', { killSwitchUnreadable: error instanceof Error ? error.message : String(error) });
    return true;
  }
}

type Budget = ReturnType<typeof actionBudget>;

async function countActions(deps: RemediateDeps, budget: Budget, scopes: ReturnType<typeof actionScopes>) {
  const now = deps.clock.now();
  const [rate, breaker] = await Promise.all([
    deps.state.countActions(budget.rate.scopeKeys, budget.rate.windowSeconds, now),
    deps.state.countActions(budget.breaker.scopeKeys, budget.breaker.windowSeconds, now),
  ]);
  return { namespace: rate[scopes.namespace], cluster: rate[scopes.cluster], workload: breaker[scopes.workload] };
}

/** Counts the action against every limit atomically; false when any limit would be exceeded. */
async function recordWithinBudget(deps: RemediateDeps, budget: Budget, now: number): Promise<boolean> {
  if (!(await deps.state.recordAction(budget.rate.scopeKeys, budget.rate.limits, budget.rate.windowSeconds, now))) return false;
  // If the breaker refuses now, the rate counters hold one action that did not happen: stricter, never looser.
  return deps.state.recordAction(budget.breaker.scopeKeys, budget.breaker.limits, budget.breaker.windowSeconds, now);
}

function outcomeOfDenial(decision: Decision, diagnosis: Diagnosis, live: Evidence): Outcome {
  // A subject gone by the time of the live read (replaced, deleted) needs nothing, whichever rule spoke first.
  if (decision.deniedBy === 'still-unhealthy' || diagnosis.category === 'already-healthy' || !live.exists) return 'already-healthy';
  return diagnosis.recommendation === 'none' ? 'no-action' : 'paged';
}

function evidenceSummary(evidence: Evidence): Record<string, unknown> {
  return {
    exists: evidence.exists,
    phase: evidence.phase,
    podReady: evidence.podReady,
    ownerChain: evidence.ownerChain.map((o) => `${o.kind}/${o.name}`),
    containers: evidence.containers.map((c) => ({
      name: c.name,
      ready: c.ready,
      restartCount: c.restartCount,
      waitingReason: c.waitingReason,
      lastTermination: c.lastTermination,
      previousLogTail: c.previousLogTail?.slice(-2048),
    })),
    events: evidence.events.slice(0, 10),
    gaps: evidence.gaps,
  };
}
