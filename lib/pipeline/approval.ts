import { randomBytes } from 'node:crypto';
import type { AuditEntry, Diagnosis, Incident, Outcome } from '../domain/types.js';
import type { ActionPlan } from '../actions/plan.js';
import type { ApprovalRecord, ApprovalStore } from '../ports/index.js';
import { approvalDigest, checkApprovalToken, parseApprovalToken, signApproval } from '../approval/token.js';
import { injectionMarkersOf, withLookupMarkers } from '../evidence/injection.js';
import { buildNotification } from './notification.js';
import { decideAndAct, type RemediateDeps } from './remediate.js';

/**
 * Out-of-band approval. The worker stores the exact plan and sends a signed, single-use,
 * expiring link; a human opens it (a confirmation page, so link scanners and previews do
 * nothing) and confirms; the approve function checks the signature, uses the approval up
 * atomically, re-reads the live cluster, re-runs the whole policy and only then acts, bound to
 * the approved target's uid and resourceVersion. The model has no path to any of this.
 */

export interface ApprovalRequester {
  /** Stores the plan for approval and returns the link to put in the page. */
  request(incident: Incident, diagnosis: Diagnosis, plan: ActionPlan, nowMs: number): Promise<string>;
}

export interface ApprovalSettings {
  /** HMAC key, at least 32 bytes. */
  readonly key: Uint8Array;
  /** The approve endpoint, e.g. https://abc.execute-api.eu-west-1.amazonaws.com/approve */
  readonly baseUrl: string;
  readonly ttlSeconds: number;
}

export class SignedApprovals implements ApprovalRequester {
  constructor(
    private readonly store: ApprovalStore,
    private readonly settings: ApprovalSettings,
  ) {
    if (settings.key.length < 32) throw new Error('the approval key must be at least 32 bytes');
  }

  async request(incident: Incident, diagnosis: Diagnosis, plan: ActionPlan, nowMs: number): Promise<string> {
    const id = randomBytes(16).toString('hex');
    const expiresAtMs = nowMs + this.settings.ttlSeconds * 1000;
    const digest = approvalDigest({ incidentId: incident.id, cluster: incident.cluster, plan });
    await this.store.create({ id, incident, diagnosis, plan, digest, requestedAtMs: nowMs, expiresAtMs });
    const token = signApproval(this.settings.key, id, expiresAtMs, digest);
    const url = new URL(this.settings.baseUrl);
    url.searchParams.set('token', token);
    return url.toString();
  }
}

/** Who clicked, as the HTTP layer saw it. Untrusted strings: recorded (bounded), never used to decide. */
export type Approver = Readonly<Record<string, string>>;

export type ApprovalResult =
  | { readonly status: 'acted' | 'refused-by-policy' | 'action-failed' | 'changed' | 'rejected'; readonly incidentId: string; readonly detail: string }
  | { readonly status: 'invalid' | 'tampered' | 'expired' | 'used'; readonly incidentId?: string; readonly detail: string };

/** What a valid link would do, for the confirmation page. Reads only; uses nothing up. */
export async function previewApproval(token: unknown, store: ApprovalStore, key: Uint8Array, nowMs: number): Promise<{ ok: true; record: ApprovalRecord } | { ok: false; status: 'invalid' | 'tampered' | 'expired' | 'used'; detail: string }> {
  const checked = await checkToken(token, store, key, nowMs);
  if (!checked.ok) return checked;
  if (checked.record.status === 'used') return { ok: false, status: 'used', detail: 'this approval link has already been used' };
  return checked;
}

async function checkToken(token: unknown, store: ApprovalStore, key: Uint8Array, nowMs: number): Promise<{ ok: true; record: ApprovalRecord } | { ok: false; status: 'invalid' | 'tampered' | 'expired'; detail: string; record?: ApprovalRecord }> {
  const parsed = parseApprovalToken(token);
  if (!parsed) return { ok: false, status: 'invalid', detail: 'not an approval link' };
  const record = await store.get(parsed.id);
  if (!record) return { ok: false, status: 'invalid', detail: 'no such approval' };
  // Recompute the digest from the stored content: a changed record fails like a changed link.
  const digest = approvalDigest({ incidentId: record.incident.id, cluster: record.incident.cluster, plan: record.plan });
  if (digest !== record.digest) return { ok: false, status: 'tampered', detail: 'the stored approval does not match its digest', record };
  const check = checkApprovalToken(key, parsed, digest, nowMs);
  if (!check.ok) {
    return check.reason === 'expired'
      ? { ok: false, status: 'expired', detail: `the approval expired at ${new Date(parsed.expiresAtMs).toISOString()}`, record }
      : { ok: false, status: 'tampered', detail: 'the approval link\'s signature does not match', record };
  }
  return { ok: true, record };
}

/** The id audit entries of unattributable attempts (no record found) are kept under. */
export const UNMATCHED_APPROVALS = 'approvals-unmatched';

type AuditFor = (step: AuditEntry['step'], detail: Record<string, unknown>, outcome?: Outcome) => Promise<void>;

/**
 * The one way a link is answered, yes or no: check the token against the stored record, then use
 * the approval up atomically. Every refusal is audited with who tried and returned; on success the
 * caller gets the record and an audit bound to its incident.
 */
async function useApproval(
  token: unknown,
  who: Record<string, string>,
  decision: 'approve' | 'reject',
  deps: Pick<RemediateDeps, 'audit' | 'clock' | 'settings'> & { approvalStore: ApprovalStore; approvalKey: Uint8Array },
): Promise<{ ok: false; result: ApprovalResult } | { ok: true; record: ApprovalRecord; audit: AuditFor }> {
  const auditFor = (incident: Pick<Incident, 'id' | 'cluster'>): AuditFor => (step, detail, outcome) =>
    deps.audit.append({ incidentId: incident.id, at: new Date(deps.clock.now()).toISOString(), cluster: incident.cluster, step, outcome, detail });
  const marked: Record<string, string> = decision === 'reject' ? { decision } : {};
  const now = deps.clock.now();
  const checked = await checkToken(token, deps.approvalStore, deps.approvalKey, now);
  if (!checked.ok) {
    const incident = checked.record?.incident ?? { id: UNMATCHED_APPROVALS, cluster: deps.settings.cluster };
    await auditFor(incident)('approval', { refused: checked.status, detail: checked.detail, approver: who, ...marked });
    return { ok: false, result: { status: checked.status, ...(checked.record ? { incidentId: checked.record.incident.id } : {}), detail: checked.detail } };
  }
  const { record } = checked;
  const audit = auditFor(record.incident);
  if (!(await deps.approvalStore.consume(record.id, { ...who, ...marked }, now))) {
    await audit('approval', { refused: 'used', detail: decision === 'reject' ? 'this approval was already used' : 'replayed: this approval was already used', approver: who, ...marked });
    return { ok: false, result: { status: 'used', incidentId: record.incident.id, detail: 'this approval link has already been used' } };
  }
  return { ok: true, record, audit };
}

/**
 * Reaches the cluster an approval is for, from the registry; throws for a cluster it does not
 * hold. Without it, the deps given reach one cluster, and an approval of any other is refused.
 */
export type ClusterDepsFor = (cluster: string) => Promise<RemediateDeps>;

export async function approve(token: unknown, approver: Approver, deps: RemediateDeps & { approvalStore: ApprovalStore; approvalKey: Uint8Array; forCluster?: ClusterDepsFor }): Promise<ApprovalResult> {
  const who = boundedApprover(approver);
  const used = await useApproval(token, who, 'approve', deps);
  if (!used.ok) return used.result;
  const { record, audit } = used;
  await audit('approval', { approved: record.plan.summary, approvalId: record.id, approver: who });

  // The approval's own cluster, and only it, is read and written (its name is signed with the plan).
  const cluster = record.incident.cluster;
  let acting: RemediateDeps;
  try {
    if (!deps.forCluster && cluster !== deps.settings.cluster) throw new Error(`this function reaches cluster ${deps.settings.cluster} only`);
    acting = deps.forCluster ? await deps.forCluster(cluster) : deps;
  } catch (error) {
    const detail = `cluster ${cluster} cannot be reached: ${error instanceof Error ? error.message : String(error)}`;
    await audit('approval', { refused: 'unknown-cluster', detail, approvalId: record.id });
    await deps.notifier.notify({
      subject: `[k8s-healer] (approval refused) ${record.plan.summary}`.slice(0, 99),
      body: `An approved action was not done: ${detail}.\nAction: ${record.plan.summary}\nIncident ${record.incident.id}\nApproved by: ${JSON.stringify(who)}`,
      severity: 'warning',
      outcome: 'paged',
      cluster,
      namespace: record.incident.subject.namespace,
    });
    await audit('outcome', { outcome: 'paged', approvalId: record.id }, 'paged');
    return { status: 'refused-by-policy', incidentId: record.incident.id, detail };
  }
  try {
    return await approveOn(record, who, acting, audit);
  } catch (error) {
    // The approval is used up: without a page the human's yes would vanish into a 500.
    await pageUnfinishedApproval(record, who, error, deps, audit);
    throw error;
  }
}

/**
 * Best effort, never hiding the original failure: audits and pages that an approved action failed
 * part-way. It may have failed before the write or after it (paging or auditing the result), so
 * the page says to look at the audit trail rather than claim either.
 */
async function pageUnfinishedApproval(record: ApprovalRecord, who: Record<string, string>, error: unknown, deps: Pick<RemediateDeps, 'notifier'>, audit: AuditFor): Promise<void> {
  // fetch says only "fetch failed"; its cause says why (ECONNREFUSED, a certificate, a timeout).
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  const reason = (error instanceof Error ? `${error.message}${cause}` : String(error)).slice(0, 500);
  const { incident } = record;
  const steps: (() => Promise<void>)[] = [
    () => audit('approval', { failed: reason, approvalId: record.id, approver: who }),
    () => deps.notifier.notify({
      subject: `[k8s-healer] (approved, failed part-way) ${record.plan.summary}`.slice(0, 99),
      body: `An approved action failed part-way: ${reason}\nThe approval is used up. Whether the change was written is in the audit trail of incident ${incident.id} (an "action" entry with allowed: true and ok: true means it was); act by hand if the fix is still needed.\nAction: ${record.plan.summary}\nApproved by: ${JSON.stringify(who)}`,
      severity: 'critical',
      outcome: 'paged',
      cluster: incident.cluster,
      namespace: incident.subject.namespace,
      // Follows up the approval request's page, keyed by the incident.
      incidentId: incident.id,
      eventAction: 'trigger',
      action: record.plan.action,
    }),
    () => audit('outcome', { outcome: 'paged', approvalId: record.id, failed: reason }, 'paged'),
  ];
  for (const step of steps) await step().catch(() => undefined);
}

async function approveOn(record: ApprovalRecord, who: Record<string, string>, deps: RemediateDeps, audit: AuditFor): Promise<ApprovalResult> {

  // Live state and the whole policy again: the approval covers this plan on this object version only.
  const evidence = await deps.reader.gatherEvidence(record.incident);
  // The approved diagnosis's look-ups read cluster text the fresh evidence may not hold.
  const injectionMarkers = withLookupMarkers(injectionMarkersOf(record.incident, evidence), record.diagnosis);
  const result = await decideAndAct(
    { incident: record.incident, evidence, diagnosis: record.diagnosis, injectionMarkers, approvedBy: JSON.stringify(who), approvedPlan: record.plan },
    deps,
    audit,
  );
  const notification = buildNotification({ incident: record.incident, evidence, diagnosis: record.diagnosis, decision: result.decision, action: result.action, outcome: result.outcome });
  await deps.notifier.notify({ ...notification, subject: notification.subject.replace('[k8s-healer]', '[k8s-healer] (approved)') });
  await audit('outcome', { outcome: result.outcome, approvalId: record.id }, result.outcome);

  const incidentId = record.incident.id;
  if (result.action) {
    return result.action.ok
      ? { status: 'acted', incidentId, detail: result.action.detail }
      : { status: 'action-failed', incidentId, detail: result.action.detail };
  }
  if (result.decision.allowed && result.plan) return { status: 'changed', incidentId, detail: 'the target changed since the approval was requested; nothing was done' };
  return { status: 'refused-by-policy', incidentId, detail: result.decision.reason ?? 'policy refused the action' };
}

/**
 * A human says no: the approval is used up (a later approve of the same link is refused as used),
 * the rejection is audited with who said it, the incident ends with no action, and on-call hears.
 * Touches nothing in the cluster.
 */
export async function reject(
  token: unknown,
  approver: Approver,
  deps: Pick<RemediateDeps, 'audit' | 'clock' | 'notifier' | 'settings'> & { approvalStore: ApprovalStore; approvalKey: Uint8Array },
): Promise<ApprovalResult> {
  const who = boundedApprover(approver);
  const used = await useApproval(token, who, 'reject', deps);
  if (!used.ok) return used.result;
  const { record, audit } = used;
  await audit('approval', { rejected: record.plan.summary, approvalId: record.id, approver: who });
  const { incident } = record;
  await deps.notifier.notify({
    subject: `[k8s-healer] (rejected) ${record.plan.summary}`.slice(0, 99),
    body: `A human rejected the proposed action; nothing was done.\nAction: ${record.plan.summary}\nIncident ${incident.id}: ${incident.symptom} on ${incident.subject.kind} ${incident.subject.namespace}/${incident.subject.name} (cluster ${incident.cluster})\nRejected by: ${JSON.stringify(who)}`,
    severity: 'info',
    outcome: 'no-action',
    cluster: incident.cluster,
    namespace: incident.subject.namespace,
    // Not a resolve: a human said no, the incident did not end healthy; its page stays open.
    incidentId: incident.id,
    action: record.plan.action,
  });
  await audit('outcome', { outcome: 'no-action', approvalId: record.id, rejected: true }, 'no-action');
  return { status: 'rejected', incidentId: incident.id, detail: `rejected: ${record.plan.summary}; nothing was done` };
}

function boundedApprover(approver: Approver): Record<string, string> {
  return Object.fromEntries(Object.entries(approver).slice(0, 8).map(([k, v]) => [k.slice(0, 40), String(v).slice(0, 200)]));
}
