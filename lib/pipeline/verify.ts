import type { ActionResult, AuditEntry, Notification, Outcome } from '../domain/types.js';
import type { VerificationRequest } from '../domain/verification-schema.js';
import type { ActedRecord, ActionRecords, AuditLog, ClusterObserver, Clock, Notifier, StateStore, VerificationScheduler } from '../ports/index.js';
import { actionOf } from '../actions/registry.js';
import { judge, type Judgement } from '../actions/verify.js';
import { redact } from '../evidence/redact.js';
import { truncateBytes } from '../evidence/budget.js';
import type { WriteGate } from './write-gate.js';
import type { Settings } from '../config/config.js';
import type { Metrics } from '../ports/metrics.js';
import { verificationJudged } from '../metrics/healer-metrics.js';
import { ACTION_RECORD_KEEP_SECONDS } from './remediate.js';

export interface VerifyDeps {
  readonly observer: ClusterObserver;
  readonly gate: WriteGate;
  readonly actionRecords: ActionRecords;
  readonly state: StateStore;
  readonly audit: AuditLog;
  readonly notifier: Notifier;
  readonly clock: Clock;
  readonly verifications: VerificationScheduler;
  readonly metrics?: Metrics;
  /** The settings (lib/config/config.ts); verification reads the cluster, budgets.verifyDelaySeconds, intake.dedupWindowSeconds and intake.lockSeconds. */
  readonly settings: Pick<Settings, 'cluster' | 'budgets' | 'intake'>;
}

/** The id audit entries of verification messages that name no action of the healer's are kept under. */
export const UNMATCHED_VERIFICATIONS = 'verifications-unmatched';

export type VerifyResult = Judgement | 'duplicate' | 'unknown-action' | 'other-cluster';

/**
 * A verification message that names no action of the healer's, or an action on a cluster these
 * checks do not reach (removed from the registry since): audited, and on-call hears, since either
 * an action goes unverified or something sends the healer messages it never wrote. Nothing is
 * read or written in any cluster.
 */
export async function refuseUnmatchedVerification(
  request: VerificationRequest,
  acted: ActedRecord | undefined,
  deps: Pick<VerifyDeps, 'audit' | 'clock' | 'notifier' | 'state'>,
  cluster: string,
  refused: string,
): Promise<void> {
  const now = deps.clock.now();
  // One page per action, and one per few minutes for messages naming none: a sender flooding the
  // queue with made-up ids gets every message audited, not every message paged.
  const [key, windowSeconds] = acted ? [`unmatched-page#${request.actionId}`, 3600] : ['unmatched-page#unknown-action', UNMATCHED_PAGE_SECONDS];
  const page = await deps.state.recordIfNew(key, windowSeconds, now);
  await deps.audit.append({
    incidentId: UNMATCHED_VERIFICATIONS,
    at: new Date(now).toISOString(),
    cluster,
    step: 'verification',
    detail: { refused, incidentId: request.incidentId.slice(0, 200), actionId: request.actionId, attempt: request.attempt, paged: page },
  });
  if (page) await deps.notifier.notify(unmatchedVerificationPage(request, acted, cluster, refused));
}

/** Verification messages naming no action page at most once in this many seconds (all are audited). */
export const UNMATCHED_PAGE_SECONDS = 300;

/** The page for a verification nothing here can check; the message's own ids are clipped and redacted. */
export function unmatchedVerificationPage(request: VerificationRequest, acted: ActedRecord | undefined, cluster: string, refused: string): Notification {
  const lines = acted
    ? [
      `An action of the healer cannot be verified: ${refused}.`,
      `Action: ${acted.plan.summary} (taken ${acted.actedAt}). Check by hand that it helped; nothing was read or changed.`,
      `Incident ${acted.incident.id}, action ${request.actionId}, check ${request.attempt}.`,
    ]
    : [
      `A verification message names no action of the healer: ${refused}.`,
      'Nothing was read or changed. The healer writes these messages itself: check who can send to the incident queue.',
      `Named incident ${request.incidentId.slice(0, 200)}, action ${request.actionId}, check ${request.attempt}.`,
    ];
  return {
    subject: truncateBytes(redact(acted ? `[k8s-healer] Not verified: ${acted.plan.summary}` : '[k8s-healer] Verification for no known action'), 99),
    body: truncateBytes(redact(lines.join('\n')), 8 * 1024),
    severity: 'warning',
    outcome: 'paged',
    cluster: acted ? acted.incident.cluster.slice(0, 100) : cluster,
    namespace: acted?.incident.subject.namespace ?? '',
    // The message's own id would let a sender choose which page this follows up.
    incidentId: acted ? acted.incident.id : UNMATCHED_VERIFICATIONS,
    eventAction: 'trigger',
    ...(acted ? { action: acted.plan.action } : {}),
  };
}

/**
 * One delayed re-check of an action. The message names the action by ids; what was done is read
 * from the state table, so a forged or replayed message can at most re-check a real action.
 * Done: audited and on-call hears it worked. Pending: checked again later. Failed: audited,
 * reverted through the write gate where undoing is the safe choice, and a human paged.
 * Redeliveries of a finished check are no-ops, and once an action is judged done or failed, any
 * later check of it is; a check that fails part-way releases its marks, so the redelivery does
 * the whole check again (a needed revert is never lost as a "duplicate").
 */
export async function verifyAction(request: VerificationRequest, deps: VerifyDeps): Promise<VerifyResult> {
  const now = deps.clock.now();
  const record = await deps.actionRecords.get(request.incidentId, request.actionId);
  if (!record) {
    await refuseUnmatchedVerification(request, undefined, deps, deps.settings.cluster, 'no action of the healer has these ids');
    return 'unknown-action';
  }
  // These deps reach one cluster: an action of another is never observed or reverted through them.
  if (record.incident.cluster !== deps.settings.cluster) {
    await refuseUnmatchedVerification(request, record, deps, deps.settings.cluster, `the action was taken on cluster ${record.incident.cluster}, these checks reach ${deps.settings.cluster}`);
    return 'other-cluster';
  }
  // Two marks, each held while a check runs and finished when it ends: this attempt's (a
  // redelivery of the same check) and the action's (a final judgement stands as long as the
  // action's record, so no later message judges, reverts or pages again). A finished mark makes
  // this delivery a duplicate; a held one (another check running, or a crashed one until its lease
  // ends) makes it fail, so SQS delivers it again: a check is never dropped while it may still be
  // the one whose revert is needed, whatever the lease and dedup settings.
  const attemptMark = `verify#${request.actionId}#${request.attempt}`;
  const judged = `verified#${request.actionId}`;
  const { lockSeconds, dedupWindowSeconds } = deps.settings.intake;
  // Releases what this call still holds, never another's, and keeps the failure that matters.
  const releasing = async (error: unknown, marks: readonly string[]): Promise<never> => {
    await Promise.allSettled(marks.map((m) => deps.state.releaseIncident(m)));
    throw error;
  };
  if (!(await claimCheck(deps.state, attemptMark, lockSeconds, now))) return 'duplicate';
  try {
    if (!(await claimCheck(deps.state, judged, lockSeconds, now))) {
      await deps.state.completeIncident(attemptMark, dedupWindowSeconds, deps.clock.now());
      return 'duplicate';
    }
  } catch (error) {
    return releasing(error, [attemptMark]);
  }
  let judgedHeld = true;
  try {
    const judgement = await checkOnce(record, request, deps, now);
    if (judgement.status === 'pending') await deps.state.releaseIncident(judged);
    else await deps.state.completeIncident(judged, ACTION_RECORD_KEEP_SECONDS, deps.clock.now());
    judgedHeld = false;
    await deps.state.completeIncident(attemptMark, dedupWindowSeconds, deps.clock.now());
    return judgement;
  } catch (error) {
    // Let SQS redeliver: release the marks still held so the retry is not taken for a duplicate.
    return releasing(error, judgedHeld ? [attemptMark, judged] : [attemptMark]);
  }
}

/** True: claimed. False: a finished check holds it. Throws while an unfinished one holds it. */
async function claimCheck(state: StateStore, key: string, lockSeconds: number, now: number): Promise<boolean> {
  if (await state.claimIncident(key, lockSeconds, now)) return true;
  if ((await state.claimState(key, now)) === 'done') return false;
  throw new Error(`a check holding ${key} is in progress elsewhere (or crashed, until its lease ends); this one is retried`);
}

async function checkOnce(record: ActedRecord, request: VerificationRequest, deps: VerifyDeps, now: number): Promise<Judgement> {
  const { incident, plan } = record;
  const audit = (step: AuditEntry['step'], detail: Record<string, unknown>, outcome?: Outcome) =>
    deps.audit.append({ incidentId: incident.id, at: new Date(deps.clock.now()).toISOString(), cluster: incident.cluster, step, outcome, detail });

  const elapsed = (now - Date.parse(record.actedAt)) / 1000;
  const judgement = judge(plan, await deps.observer.observe(plan), Number.isFinite(elapsed) ? elapsed : Number.POSITIVE_INFINITY);
  await audit('verification', { attempt: request.attempt, action: plan.action, target: plan.target, ...judgement });

  if (judgement.status === 'pending') {
    await deps.verifications.scheduleVerification({ ...request, attempt: request.attempt + 1 }, deps.settings.budgets.verifyDelaySeconds);
    return judgement;
  }
  let revert: ActionResult | undefined;
  // Undo only what the action's record undoes (a scale-up whose new pods never became available
  // adds nothing but pending pods); the rest, a cordon included, stays for a human.
  const action = actionOf(plan.action);
  if (judgement.status === 'failed' && action.spec.reversible && action.revert !== undefined) {
    revert = (await deps.gate.write({ kind: 'revert', incident, plan })).result;
  }
  const outcome: Outcome = judgement.status === 'done' ? 'acted' : 'action-failed';
  deps.metrics?.record(verificationJudged(incident, plan.action, judgement.status === 'done' ? 'ok' : revert?.ok ? 'reverted' : 'failed'));
  await deps.notifier.notify(verificationNotice(record, request.attempt, judgement, revert, outcome));
  await audit('outcome', { outcome, verified: judgement.status === 'done', attempt: request.attempt }, outcome);
  return judgement;
}

function verificationNotice(record: ActedRecord, attempt: number, judgement: Judgement, revert: ActionResult | undefined, outcome: Outcome): Notification {
  const { incident, plan } = record;
  const where = incident.subject.namespace ? `${incident.subject.namespace}/${incident.subject.name}` : incident.subject.name;
  const ok = judgement.status === 'done';
  const lines = [
    `${ok ? 'Verified' : 'Fix did not work, needs a human'}: ${plan.summary} for ${incident.symptom} on ${incident.subject.kind} ${where} (cluster ${incident.cluster})`,
    `Verification: ${judgement.detail}`,
    revert ? `Revert: ${revert.ok ? 'done' : 'not done'}, ${revert.detail}` : '',
    ok ? 'Resolved: the fix held, so any page about this incident is closed. Nothing is left to do.' : '',
    `Acted at ${record.actedAt}; check ${attempt}.`,
    `Incident ${incident.id}`,
  ].filter((l) => l !== '');
  return {
    subject: truncateBytes(redact(`[k8s-healer] ${ok ? 'Verified, resolved' : 'Fix failed, needs a human'}: ${plan.action} ${where}`), 99),
    body: truncateBytes(redact(lines.join('\n')), 64 * 1024),
    severity: ok ? 'info' : 'critical',
    outcome,
    cluster: incident.cluster,
    namespace: incident.subject.namespace,
    incidentId: incident.id,
    // The follow-up that closes the page (PagerDuty resolve, same key): only when verification
    // saw the intended outcome. A failed fix is a new critical page on the same key instead.
    eventAction: ok ? 'resolve' : 'trigger',
    action: plan.action,
    ...(incident.annotations.runbook_url ? { runbookUrl: incident.annotations.runbook_url } : {}),
  };
}
