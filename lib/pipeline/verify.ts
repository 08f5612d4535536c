import type { ActionResult, AuditEntry, Notification, Outcome } from '../domain/types.js';
import type { VerificationJob } from '../domain/verification-schema.js';
import type { AuditLog, ClusterActor, Clock, Notifier, StateStore, VerificationScheduler } from '../ports/index.js';
import { ACTIONS } from '../actions/catalog.js';
import { judge, type Judgement } from '../actions/verify.js';
import { redact } from '../evidence/redact.js';
import { truncateBytes } from '../evidence/budget.js';

export interface VerifyDeps {
  readonly actor: ClusterActor;
  readonly state: StateStore;
  readonly audit: AuditLog;
  readonly notifier: Notifier;
  readonly clock: Clock;
  readonly verifications: VerificationScheduler;
  readonly settings: { readonly verifyDelaySeconds: number; readonly dedupWindowSeconds: number };
}

/**
 * One delayed re-check of an action (a queue message, see lib/domain/verification-schema.ts).
 * Done: audited and on-call hears it worked. Pending: checked again later. Failed: audited,
 * reverted where the action is reversible and undoing it is the safe choice, and a human paged.
 * Redeliveries of the same check are no-ops (a conditional write per incident and attempt).
 */
export async function verifyAction(job: VerificationJob, deps: VerifyDeps): Promise<Judgement | 'duplicate'> {
  const { incident, plan } = job;
  const now = deps.clock.now();
  if (!(await deps.state.recordIfNew(`verify#${incident.id}#${job.attempt}`, deps.settings.dedupWindowSeconds, now))) return 'duplicate';
  const audit = (step: AuditEntry['step'], detail: Record<string, unknown>, outcome?: Outcome) =>
    deps.audit.append({ incidentId: incident.id, at: new Date(deps.clock.now()).toISOString(), cluster: incident.cluster, step, outcome, detail });

  let judgement: Judgement;
  try {
    const elapsed = (now - Date.parse(job.actedAt)) / 1000;
    judgement = judge(plan, await deps.actor.observe(plan), Number.isFinite(elapsed) ? elapsed : Number.POSITIVE_INFINITY);
  } catch (error) {
    // Let SQS redeliver: forget this attempt's mark so the retry is not taken for a duplicate.
    await deps.state.forgetIncident(`verify#${incident.id}#${job.attempt}`);
    throw error;
  }
  await audit('verification', { attempt: job.attempt, action: plan.action, target: plan.target, ...judgement });

  if (judgement.status === 'pending') {
    await deps.verifications.scheduleVerification({ ...job, attempt: job.attempt + 1 }, deps.settings.verifyDelaySeconds);
    return judgement;
  }
  let revert: ActionResult | undefined;
  // Undo only what is reversible and safe to undo: a scale-up whose new pods never became
  // available adds nothing but pending pods. A cordon stays: the node was not Ready.
  if (judgement.status === 'failed' && ACTIONS[plan.action].reversible && plan.action === 'scale-deployment') {
    revert = await deps.actor.revert(plan);
    await audit('action', { revert: true, ...revert });
  }
  const outcome: Outcome = judgement.status === 'done' ? 'acted' : 'action-failed';
  await deps.notifier.notify(verificationNotice(job, judgement, revert, outcome));
  await audit('outcome', { outcome, verified: judgement.status === 'done', attempt: job.attempt }, outcome);
  return judgement;
}

function verificationNotice(job: VerificationJob, judgement: Judgement, revert: ActionResult | undefined, outcome: Outcome): Notification {
  const { incident, plan } = job;
  const where = incident.subject.namespace ? `${incident.subject.namespace}/${incident.subject.name}` : incident.subject.name;
  const ok = judgement.status === 'done';
  const lines = [
    `${ok ? 'Verified' : 'Fix did not work, needs a human'}: ${plan.summary} for ${incident.symptom} on ${incident.subject.kind} ${where} (cluster ${incident.cluster})`,
    `Verification: ${judgement.detail}`,
    revert ? `Revert: ${revert.ok ? 'done' : 'not done'}, ${revert.detail}` : '',
    `Acted at ${job.actedAt}; check ${job.attempt}.`,
    `Incident ${incident.id}`,
  ].filter((l) => l !== '');
  return {
    subject: truncateBytes(redact(`[k8s-healer] ${ok ? 'Verified' : 'Fix failed, needs a human'}: ${plan.action} ${where}`), 99),
    body: truncateBytes(redact(lines.join('\n')), 64 * 1024),
    severity: ok ? 'info' : 'critical',
    outcome,
    cluster: incident.cluster,
    namespace: incident.subject.namespace,
  };
}
