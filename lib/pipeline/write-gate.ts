import type { ActionResult, AuditEntry, Incident } from '../domain/types.js';
import type { ActionPlan } from '../actions/plan.js';
import { actionOf, isActionId, needsApproval } from '../actions/registry.js';
import type { AuditLog, ClusterReader, ClusterWriter, Clock, KillSwitch, Placement } from '../ports/index.js';
import type { Metrics } from '../ports/metrics.js';
import { actionWritten } from '../metrics/healer-metrics.js';
import type { Settings } from '../config/config.js';

/**
 * The one door to the cluster. Every write the healer makes (an action, an approved action, a
 * revert) passes here; nothing else holds a ClusterWriter. The gate does not trust its caller:
 * it reads the kill switch and the target's placement itself, checks them with the pure rules
 * below (ordered, all evaluated, a throw denies), runs the write as a server-side dry run when
 * the healer is in dry-run mode, and audits the request, every verdict and the result.
 */

export type WriteKind = 'act' | 'revert';

export interface WriteRequest {
  readonly kind: WriteKind;
  readonly incident: Incident;
  readonly plan: ActionPlan;
}

/**
 * What the gate reads of the settings (lib/config/config.ts), passed whole: the cluster, policy's
 * kill switch (the deploy-time one; the runtime one is a port), dry run and protected namespaces,
 * and the site's approval list (an action a human approves is never undone without one).
 */
export type GateSettings = Pick<Settings, 'cluster' | 'policy' | 'approval'>;

export interface WriteGateDeps {
  readonly writer: ClusterWriter;
  readonly reader: Pick<ClusterReader, 'placementOf'>;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly killSwitch?: KillSwitch;
  readonly settings: GateSettings;
  /** Counts every write by action, act or revert, and outcome. */
  readonly metrics?: Metrics;
}

/** What the gate read before deciding. */
export interface GateFacts {
  /** True when engaged, or when it could not be read. */
  readonly killSwitch: boolean;
  /** Why the runtime kill switch could not be read, when it could not. */
  readonly killSwitchError?: string;
  /** The target's own placement (the target, its owners, its namespace); undefined when it is gone. */
  readonly placement: Placement | undefined;
  /**
   * When the target is not the incident's subject (a restart of the Deployment of a crashing
   * pod): the subject's placement, read now too, so an opt-out put on the pod or its ReplicaSet
   * since the decision holds. Null when the subject is gone; undefined when it is the target.
   */
  readonly subjectPlacement?: Placement | null;
}

export type GateRule = (request: WriteRequest, facts: GateFacts, settings: GateSettings) => string | null;

const sameRef = (a: { kind: string; name: string; namespace?: string | undefined }, b: { kind: string; name: string; namespace?: string | undefined }) =>
  a.kind === b.kind && a.name === b.name && (a.namespace ?? '') === (b.namespace ?? '');

export const GATE_RULES: readonly (readonly [string, GateRule])[] = [
  // Only a switch read as off is off, as in policy.
  ['kill-switch', (_r, facts, s) => (s.policy.killSwitch !== false || facts.killSwitch !== false ? 'the kill switch is on' : null)],
  ['same-cluster', (r, _f, s) => (r.incident.cluster === s.cluster ? null : `incident is for cluster ${r.incident.cluster}, this healer serves ${s.cluster}`)],
  ['allowlisted', (r) => {
    if (!isActionId(r.plan.action)) return `action "${String(r.plan.action)}" is not allowlisted`;
    const spec = actionOf(r.plan.action).spec;
    return spec.targetKinds.includes(r.plan.target.kind) ? null : `${r.plan.action} cannot write a ${r.plan.target.kind}`;
  }],
  ['protected-namespace', (r, _f, s) => {
    const namespaces = [r.plan.target.namespace, r.incident.subject.namespace].filter((n): n is string => n !== undefined && n !== '');
    const hit = namespaces.find((n) => s.policy.deniedNamespaces.includes(n));
    return hit === undefined ? null : `namespace ${hit} is protected`;
  }],
  ['target-exists', (_r, facts) => (facts.placement ? null : 'the target no longer exists')],
  ['placement-known', (_r, facts) =>
    !facts.placement || facts.placement.complete ? null : `the target's owners could not all be read: ${facts.placement.gaps.join('; ') || 'owner chain incomplete'}`],
  ['not-opted-out', (_r, facts) => {
    if (!facts.placement) return null;
    if (facts.placement.namespaceOptOut) return 'the namespace opted out of healing (or could not be read)';
    return facts.placement.optOut ? 'the target or an owner opted out of healing' : null;
  }],
  ['subject-not-opted-out', (r, facts) => {
    const subject = facts.subjectPlacement;
    if (subject === undefined) return null;
    // Gone since the decision: what it was placed under can no longer be read. A revert, minutes
    // later, undoes the healer's own change whatever became of the pod.
    if (subject === null) return r.kind === 'act' ? 'the incident\'s subject is gone since the decision' : null;
    if (subject.namespaceOptOut) return 'the incident\'s namespace opted out of healing (or could not be read)';
    if (subject.optOut) return 'the incident\'s subject or an owner opted out of healing';
    return subject.complete ? null : `the incident's subject's owners could not all be read: ${subject.gaps.join('; ') || 'owner chain incomplete'}`;
  }],
  ['pinned', (r, facts) => {
    // The write must name the very object the gate just read: same uid, and a version for patches.
    const uid = r.plan.target.uid;
    if (!uid) return 'the plan is not pinned to a uid';
    const live = facts.placement?.chain[0];
    if (live && (!sameRef(live, r.plan.target) || live.uid !== uid)) return `the target is now a different object (uid ${live.uid ?? 'unknown'}, plan ${uid})`;
    // The action's record says whether its write carries the version; an unknown action needs one.
    const needsVersion = !isActionId(r.plan.action) || actionOf(r.plan.action).pinnedToVersion;
    return needsVersion && !r.plan.resourceVersion ? 'the plan is not pinned to a resourceVersion' : null;
  }],
  ['revert-bounds', (r, _f, s) => {
    if (r.kind !== 'revert') return null;
    // Only an action whose record undoes it, and only within what the healer itself changed
    // (a scale: back to what stood before, below the healer's own count).
    const action = isActionId(r.plan.action) ? actionOf(r.plan.action) : undefined;
    if (!action?.revert || !action.spec.reversible) return `${String(r.plan.action)} is not reverted by the healer`;
    // A revert passes neither policy nor approval: an action a human had to approve (by its record
    // or by this site's approval list) is undone by a human too.
    if (needsApproval(r.plan.action, s.approval.actions)) return `${String(r.plan.action)} needs approval here, so only a human undoes it`;
    return action.revert.outOfBounds(r.plan);
  }],
];

export interface GateVerdict {
  readonly allowed: boolean;
  readonly verdicts: readonly { readonly rule: string; readonly reason: string | null }[];
  readonly deniedBy?: string;
  readonly reason?: string;
}

/** Pure: every rule, in order; the first reason denies; a rule that throws denies. */
export function judgeWrite(request: WriteRequest, facts: GateFacts, settings: GateSettings, rules = GATE_RULES): GateVerdict {
  const verdicts = rules.map(([rule, check]) => {
    try {
      const reason = check(request, facts, settings);
      return { rule, reason: typeof reason === 'string' || reason === null ? reason : `rule returned ${typeof reason}` };
    } catch (error) {
      return { rule, reason: `rule failed: ${error instanceof Error ? error.message : String(error)}` };
    }
  });
  const denial = verdicts.find((v) => v.reason !== null);
  if (rules.length === 0) return { allowed: false, verdicts, deniedBy: 'no-rules', reason: 'no gate rules' };
  return denial ? { allowed: false, verdicts, deniedBy: denial.rule, reason: denial.reason ?? undefined } : { allowed: true, verdicts };
}

export interface GateResult {
  readonly result: ActionResult;
  /** True when the write was made for real (not refused, not a dry run). */
  readonly applied: boolean;
  readonly dryRun: boolean;
  readonly verdict: GateVerdict;
}

/** The gate as the pipeline holds it: the writer stays inside. */
export class WriteGate {
  constructor(private readonly deps: WriteGateDeps) {}

  write(request: WriteRequest): Promise<GateResult> {
    return gatedWrite(request, this.deps);
  }
}

/**
 * Checks one write and, when every rule passes, makes it (a server-side dry run in dry-run mode).
 * A refusal is a result, never a throw; an unreachable cluster or audit log throws.
 */
export async function gatedWrite(request: WriteRequest, deps: WriteGateDeps): Promise<GateResult> {
  const { plan, incident } = request;
  const targetIsSubject = sameRef(plan.target, incident.subject);
  const [killSwitch, placement, subjectPlacement] = await Promise.all([
    runtimeKillSwitch(deps.killSwitch),
    // The target's own placement: for a Deployment that is the Deployment and what owns it.
    deps.reader.placementOf({ ...incident, subject: { kind: plan.target.kind, name: plan.target.name, namespace: plan.target.namespace ?? '' } }),
    targetIsSubject ? Promise.resolve(undefined) : deps.reader.placementOf(incident),
  ]);
  const facts: GateFacts = { ...killSwitch, placement, ...(targetIsSubject ? {} : { subjectPlacement: subjectPlacement ?? null }) };
  const verdict = judgeWrite(request, facts, deps.settings);
  const dryRun = deps.settings.policy.dryRun;
  const audit = (detail: Record<string, unknown>, outcome?: AuditEntry['outcome']) =>
    deps.audit.append({ incidentId: incident.id, at: new Date(deps.clock.now()).toISOString(), cluster: incident.cluster, step: 'action', outcome, detail });

  if (!verdict.allowed) {
    const result: ActionResult = { action: plan.action, target: plan.target, ok: false, detail: `refused by the write gate (${verdict.deniedBy}): ${verdict.reason}` };
    await audit({ gate: request.kind, plan, allowed: false, deniedBy: verdict.deniedBy, reason: verdict.reason, verdicts: verdict.verdicts, ...(facts.killSwitchError ? { killSwitchUnreadable: facts.killSwitchError } : {}) });
    deps.metrics?.record(actionWritten(incident, plan.action, request.kind, 'refused'));
    return { result, applied: false, dryRun, verdict };
  }
  const result = request.kind === 'act' ? await deps.writer.execute(plan, { dryRun }) : await deps.writer.revert(plan, { dryRun });
  await audit({ gate: request.kind, plan, allowed: true, dryRun, verdicts: verdict.verdicts, ...result });
  deps.metrics?.record(actionWritten(incident, plan.action, request.kind, !result.ok ? 'failed' : dryRun ? 'dry-run' : 'applied'));
  return { result, applied: result.ok && !dryRun, dryRun, verdict };
}

/** Fails closed: a switch that cannot be read counts as engaged. */
async function runtimeKillSwitch(killSwitch: KillSwitch | undefined): Promise<Pick<GateFacts, 'killSwitch' | 'killSwitchError'>> {
  if (!killSwitch) return { killSwitch: false };
  try {
    return { killSwitch: await killSwitch.engaged() };
  } catch (error) {
    return { killSwitch: true, killSwitchError: error instanceof Error ? error.message : String(error) };
  }
}
