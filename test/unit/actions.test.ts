import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ACTIONS, needsApproval } from '../../lib/actions/catalog.js';
import { planAction, scaleCeiling, stillNeeded, unprovenStuck, type ActionPlan, type JobLimits, type ScaleBounds } from '../../lib/actions/plan.js';
import { judge } from '../../lib/actions/verify.js';
import { lastSuccess } from '../../lib/evidence/status.js';
import { loadConfig } from '../../lib/config/config.js';
import { approvalDigest, checkApprovalToken, parseApprovalToken, signApproval } from '../../lib/approval/token.js';
import { ACTION_IDS, type Diagnosis, type Evidence, type JobStatusEvidence } from '../../lib/domain/types.js';
import { anEvictDiagnosis, anIncident, evidenceFor } from '../fixtures/builders.js';

/** The action catalog, the pure planner, the verification judge and approval tokens. */

const BOUNDS: ScaleBounds = { maxReplicas: 10, maxStep: 2, maxStepPercent: 50 };
/** HEALER_JOB_STUCK_SECONDS' default. */
const JOBS: JobLimits = { jobStuckSeconds: 3600 };
const incident = anIncident();
const workload = { kind: 'Deployment', name: 'web', uid: 'd-1', resourceVersion: '42', desiredReplicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3, paused: false, conditions: [], podStates: {} };
const evidence: Evidence = evidenceFor(incident, { workload });
const scaleTo = (replicas: number): Diagnosis => ({
  ...anEvictDiagnosis(incident),
  recommendation: 'scale-deployment',
  target: { kind: 'Deployment', name: 'web', namespace: incident.subject.namespace },
  parameters: { replicas },
});

describe('action catalog', () => {
  it('declares safety metadata for every allowlisted action, and nothing else', () => {
    expect(Object.keys(ACTIONS).sort()).toEqual([...ACTION_IDS].sort());
    for (const id of ACTION_IDS) {
      const spec = ACTIONS[id];
      expect(spec.targetKinds.length).toBeGreaterThan(0);
      expect(spec.cooldownSeconds).toBeGreaterThan(0);
      expect(['low', 'medium', 'high']).toContain(spec.risk);
    }
  });

  it('lets operators add approvals but never remove the ones the code declares', () => {
    expect(needsApproval('cordon-node', [])).toBe(true);
    expect(needsApproval('evict-pod', [])).toBe(false);
    expect(needsApproval('evict-pod', ['evict-pod'])).toBe(true);
  });
});

describe('planAction', () => {
  it('plans an eviction pinned to the pod uid, watching its ReplicaSet', () => {
    const planned = planAction(anEvictDiagnosis(incident), evidence, BOUNDS, JOBS);
    expect(planned).toMatchObject({ ok: true, plan: { action: 'evict-pod', target: { kind: 'Pod', uid: 'pod-uid' }, watch: { kind: 'ReplicaSet' } } });
  });

  it('refuses a target replaced since the diagnosis: the same name with another uid', () => {
    // Prepare: diagnosed on pod-uid; by the live read the pod was recreated under the same name
    const diagnosis = anEvictDiagnosis(incident);
    const diagnosed = { ...diagnosis, target: { ...diagnosis.target!, uid: 'pod-uid' } };
    const replaced = { ...evidence, ownerChain: evidence.ownerChain.map((o, i) => (i === 0 ? { ...o, uid: 'new-pod-uid' } : o)) };

    // Act / Assess
    expect(planAction(diagnosed, evidence, BOUNDS, JOBS)).toMatchObject({ ok: true });
    expect(planAction(diagnosed, replaced, BOUNDS, JOBS)).toEqual({ ok: false, reason: expect.stringMatching(/was replaced since the diagnosis \(uid pod-uid, now new-pod-uid\)/) as unknown });
  });

  it('plans a scale within bounds with the resourceVersion it was made on', () => {
    expect(planAction(scaleTo(4), evidence, BOUNDS, JOBS)).toMatchObject({ ok: true, plan: { resourceVersion: '42', fromReplicas: 3, parameters: { replicas: 4 } } });
  });

  it.each([
    ['down', 2, /only scales up/],
    ['to the same count', 3, /only scales up/],
    ['by more than the step', 6, /out of bounds: at most 4/],
  ])('refuses to scale %s', (_what, replicas, reason) => {
    const planned = planAction(scaleTo(replicas), evidence, BOUNDS, JOBS);
    expect(planned.ok).toBe(false);
    if (!planned.ok) expect(planned.reason).toMatch(reason);
  });

  it('never scales a Deployment up from zero replicas, whatever the bounds allow', () => {
    // Prepare: switched off on purpose; +1 is within every bound.
    const off: Evidence = { ...evidence, workload: { ...workload, desiredReplicas: 0, readyReplicas: 0, availableReplicas: 0, updatedReplicas: 0 } };

    // Act
    const planned = planAction(scaleTo(1), off, BOUNDS, JOBS);

    // Assess
    expect(planned.ok).toBe(false);
    if (!planned.ok) expect(planned.reason).toMatch(/scaled to zero/);
  });

  it('property: a planned scale never passes the maximum, the step or the share', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 400 }),
        fc.record({ maxReplicas: fc.integer({ min: 1, max: 300 }), maxStep: fc.integer({ min: 1, max: 50 }), maxStepPercent: fc.integer({ min: 1, max: 300 }) }),
        (from, to, bounds) => {
          // Prepare
          const ev: Evidence = { ...evidence, workload: { ...workload, desiredReplicas: from } };
          // Act
          const planned = planAction(scaleTo(to), ev, bounds, JOBS);
          // Assess
          if (!planned.ok) return;
          expect(from).toBeGreaterThan(0);
          expect(to).toBeGreaterThan(from);
          expect(to).toBeLessThanOrEqual(bounds.maxReplicas);
          expect(to - from).toBeLessThanOrEqual(bounds.maxStep);
          expect(to - from).toBeLessThanOrEqual(Math.max(1, Math.floor((from * bounds.maxStepPercent) / 100)));
          expect(to).toBeLessThanOrEqual(scaleCeiling(from, bounds));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses a paused Deployment, an unread one, a target outside the chain and parameters an action does not take', () => {
    const reasonOf = (d: Diagnosis, ev: Evidence) => {
      const planned = planAction(d, ev, BOUNDS, JOBS);
      return planned.ok ? 'planned' : planned.reason;
    };
    expect(reasonOf(scaleTo(4), { ...evidence, workload: { ...workload, paused: true } })).toMatch(/paused/);
    expect(reasonOf(scaleTo(4), { ...evidence, workload: undefined })).toMatch(/not read/);
    expect(reasonOf({ ...scaleTo(4), target: { kind: 'Deployment', name: 'other', namespace: 'shop' } }, evidence)).toMatch(/not in the incident's owner chain/);
    expect(reasonOf({ ...anEvictDiagnosis(incident), parameters: { replicas: 9 } }, evidence)).toMatch(/parameters for evict-pod are invalid/);
  });

  it('leaves alone what healed or finished meanwhile', () => {
    expect(stillNeeded('evict-pod', { ...evidence, podReady: true }, JOBS)).toMatch(/healthy again/);
    expect(stillNeeded('rollout-restart', evidence, JOBS)).toMatch(/every replica is available/);
    expect(stillNeeded('delete-job', { ...evidence, job: { name: 'j', active: 0, succeeded: 1, failed: 0, suspended: false, conditions: [{ type: 'Complete' }] } }, JOBS)).toMatch(/already finished/);
    expect(stillNeeded('cordon-node', { ...evidence, node: { name: 'n', unschedulable: true, conditions: [] } }, JOBS)).toMatch(/already cordoned/);
    expect(stillNeeded('evict-pod', { ...evidence, exists: false }, JOBS)).toMatch(/no longer exists/);
  });
});

describe('delete-job needs live proof that the Job is stuck', () => {
  const jobIncident = anIncident({ symptom: 'JobStuck', subject: { kind: 'Job', name: 'export-1', namespace: 'batch' }, alertname: 'KubeJobNotCompleted' });
  const running = (job: Partial<JobStatusEvidence>): Evidence => evidenceFor(jobIncident, {
    ownerChain: [{ kind: 'Job', name: 'export-1', namespace: 'batch', uid: 'j-1' }],
    podReady: undefined,
    job: { name: 'export-1', uid: 'j-1', resourceVersion: '7', active: 1, succeeded: 0, failed: 0, runningSeconds: 7200, suspended: false, conditions: [], ...job },
  });
  const deleteJob: Diagnosis = { ...anEvictDiagnosis(jobIncident), recommendation: 'delete-job', target: { kind: 'Job', name: 'export-1', namespace: 'batch' } };
  const outcome = (ev: Evidence, limits: JobLimits = JOBS) => {
    const planned = planAction(deleteJob, ev, BOUNDS, limits);
    return { plan: planned.ok ? 'planned' : planned.reason, still: stillNeeded('delete-job', ev, limits) };
  };

  it('does not delete a Job that has run 90 s with an active pod (the issue\'s case), under the default threshold', () => {
    // Act
    const result = outcome(running({ runningSeconds: 90 }));
    // Assess
    expect(result.plan).toMatch(/not proven stuck: it has run 90 s, under the 3600 s stuck threshold/);
    expect(result.still).toMatch(/under the 3600 s stuck threshold/);
  });

  it.each([
    ['running past the threshold with no pod ever succeeding', { runningSeconds: 3600 }],
    ['past its activeDeadlineSeconds, however short', { runningSeconds: 301, activeDeadlineSeconds: 300 }],
    ['running long, its last success older than the threshold', { succeeded: 4, secondsSinceLastPodSucceeded: 3700, lastPodSucceededAt: '2026-11-25T08:00:00Z' }],
  ] as const)('deletes a Job %s', (_what, job) => {
    // Act
    const result = outcome(running(job));
    // Assess
    expect(result).toEqual({ plan: 'planned', still: null });
  });

  it.each([
    ['a pod succeeded recently (it is progressing)', { succeeded: 4, secondsSinceLastPodSucceeded: 120 }, /succeeded 120 s ago: it is making progress/],
    ['pods succeeded but when is unknown', { succeeded: 4 }, /could not be read: progress cannot be ruled out/],
    ['it is suspended', { suspended: true }, /suspended/],
    ['its start time is unknown', { runningSeconds: undefined }, /no startTime/],
    ['within its activeDeadlineSeconds and under the threshold', { runningSeconds: 200, activeDeadlineSeconds: 300 }, /within its activeDeadlineSeconds 300/],
  ] as const)('refuses when %s', (_what, job, reason) => {
    // Act
    const result = outcome(running(job));
    // Assess
    expect(result.plan).toMatch(reason);
    expect(result.still).toMatch(reason);
  });

  it('refuses without a valid threshold, and leaves a finished Job to "nothing to do"', () => {
    for (const jobStuckSeconds of [0, -1, 1.5, Number.NaN]) expect(outcome(running({}), { jobStuckSeconds }).plan).toMatch(/stuck threshold is unknown/);
    const finished = outcome(running({ active: 0, succeeded: 1, conditions: [{ type: 'Complete' }] }));
    expect(finished).toEqual({ plan: 'planned', still: 'the Job has already finished (Complete)' });
  });

  it('takes its threshold from HEALER_JOB_STUCK_SECONDS: an hour unless set, never zero', () => {
    expect(loadConfig({}).settings.policy.jobStuckSeconds).toBe(3600);
    expect(loadConfig({ HEALER_JOB_STUCK_SECONDS: '5' }).settings.policy.jobStuckSeconds).toBe(5);
    for (const bad of ['0', '-5', '1.5', 'soon']) expect(() => loadConfig({ HEALER_JOB_STUCK_SECONDS: bad })).toThrow(/HEALER_JOB_STUCK_SECONDS/);
  });

  it('follows the configured threshold: a site that says 5 s means 5 s', () => {
    expect(outcome(running({ runningSeconds: 6 }), { jobStuckSeconds: 5 })).toEqual({ plan: 'planned', still: null });
    expect(outcome(running({ runningSeconds: 4 }), { jobStuckSeconds: 5 }).plan).toMatch(/under the 5 s/);
  });

  it('reads progress honestly: the last success is known only when every success was seen with its time', () => {
    // Prepare
    const now = Date.parse('2026-11-25T12:00:00Z');
    const at = (iso: string) => Date.parse(iso);
    // Act + Assess
    expect(lastSuccess([{ succeeded: true, finishedMs: at('2026-11-25T11:00:00Z') }, { succeeded: true, finishedMs: at('2026-11-25T11:58:00Z') }, { succeeded: false }], 2, now))
      .toEqual({ lastPodSucceededAt: '2026-11-25T11:58:00.000Z', secondsSinceLastPodSucceeded: 120 });
    expect(lastSuccess([{ succeeded: true, finishedMs: at('2026-11-25T11:00:00Z') }], 2, now)).toEqual({});
    expect(lastSuccess([{ succeeded: true, finishedMs: undefined }], 1, now)).toEqual({});
    expect(lastSuccess(undefined, 1, now)).toEqual({});
    expect(lastSuccess([{ succeeded: false }], 0, now)).toEqual({});
  });

  it('property: a Job it would delete is past its deadline, or ran the threshold with no success within it', () => {
    fc.assert(
      fc.property(
        fc.record({
          runningSeconds: fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
          activeDeadlineSeconds: fc.option(fc.integer({ min: 1, max: 20_000 }), { nil: undefined }),
          succeeded: fc.integer({ min: 0, max: 5 }),
          secondsSinceLastPodSucceeded: fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
          active: fc.integer({ min: 0, max: 3 }),
          suspended: fc.boolean(),
        }),
        fc.integer({ min: 1, max: 10_000 }),
        (job, jobStuckSeconds) => {
          // Act
          const ev = running(job);
          const planned = planAction(deleteJob, ev, BOUNDS, { jobStuckSeconds });
          const still = stillNeeded('delete-job', ev, { jobStuckSeconds });
          // Assess
          if (!planned.ok || still !== null) return;
          expect(job.active).toBeGreaterThan(0);
          expect(job.suspended).toBe(false);
          const r = job.runningSeconds ?? -1;
          const pastDeadline = job.activeDeadlineSeconds !== undefined && r > job.activeDeadlineSeconds;
          const noProgress = r >= jobStuckSeconds && (job.succeeded === 0 || (job.secondsSinceLastPodSucceeded ?? -1) >= jobStuckSeconds);
          expect(pastDeadline || noProgress).toBe(true);
          expect(unprovenStuck(ev.job as JobStatusEvidence, jobStuckSeconds)).toBeNull();
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('judge (verification)', () => {
  const plan = (action: ActionPlan['action'], parameters: Record<string, number> = {}): ActionPlan => ({ action, target: { kind: 'X', name: 'x' }, parameters, summary: 's' });
  const replicas = (desired: number, available: number) => ({ desired, updated: desired, ready: available, available, observedLatest: true });

  it('says done, pending or failed from what it sees, and fails what stays pending too long', () => {
    expect(judge(plan('evict-pod'), { targetPresent: false, replicas: replicas(2, 2) }, 5).status).toBe('done');
    expect(judge(plan('evict-pod'), { targetPresent: false, replicas: replicas(2, 1) }, 5).status).toBe('pending');
    expect(judge(plan('evict-pod'), { targetPresent: false, replicas: replicas(2, 1) }, 301).status).toBe('failed');
    expect(judge(plan('scale-deployment', { replicas: 4 }), { targetPresent: true, replicas: replicas(4, 4) }, 1).status).toBe('done');
    const changed = judge(plan('scale-deployment', { replicas: 4 }), { targetPresent: true, replicas: replicas(6, 6) }, 1);
    expect(changed.status).toBe('failed');
    expect(changed.detail).toMatch(/something else changed it/);
    expect(judge(plan('delete-job'), { targetPresent: false }, 1).status).toBe('done');
    expect(judge(plan('cordon-node'), { targetPresent: true, unschedulable: false }, 1).status).toBe('failed');
    expect(judge(plan('rollout-restart'), { targetPresent: true, replicas: { ...replicas(3, 3), observedLatest: false } }, 1).status).toBe('pending');
  });
});

describe('approval tokens', () => {
  const key = Buffer.alloc(32, 7);
  const plan: ActionPlan = { action: 'cordon-node', target: { kind: 'Node', name: 'n1', uid: 'u1' }, resourceVersion: '5', parameters: {}, summary: 'cordon Node n1' };
  const digest = approvalDigest({ incidentId: 'i1', cluster: 'c', plan });
  const id = 'a'.repeat(32);
  const exp = Date.parse('2026-11-25T13:00:00Z');
  const token = signApproval(key, id, exp, digest);

  it('accepts its own token before expiry, refuses it after', () => {
    const parsed = parseApprovalToken(token);
    expect(parsed).toBeDefined();
    expect(checkApprovalToken(key, parsed!, digest, exp - 1)).toEqual({ ok: true });
    expect(checkApprovalToken(key, parsed!, digest, exp)).toEqual({ ok: false, reason: 'expired' });
  });

  it('binds the digest to the exact plan: another resourceVersion, target or parameter is another digest', () => {
    expect(approvalDigest({ incidentId: 'i1', cluster: 'c', plan: { ...plan, resourceVersion: '6' } })).not.toBe(digest);
    expect(approvalDigest({ incidentId: 'i1', cluster: 'c', plan: { ...plan, target: { ...plan.target, name: 'n2' } } })).not.toBe(digest);
    // Property order does not matter.
    expect(approvalDigest({ cluster: 'c', plan: { summary: plan.summary, parameters: {}, resourceVersion: '5', target: plan.target, action: plan.action }, incidentId: 'i1' })).toBe(digest);
  });

  it('property: any altered character of the link is refused (tampered or unparseable), never accepted', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: token.length - 1 }), fc.constantFrom(...'0123456789abcdefABCXYZ-_.'), (at, char) => {
        const altered = token.slice(0, at) + char + token.slice(at + 1);
        fc.pre(altered !== token);
        const parsed = parseApprovalToken(altered);
        if (!parsed) return;
        expect(checkApprovalToken(key, parsed, digest, exp - 1000).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses a token signed with another key', () => {
    const other = signApproval(Buffer.alloc(32, 8), id, exp, digest);
    expect(checkApprovalToken(key, parseApprovalToken(other)!, digest, exp - 1)).toEqual({ ok: false, reason: 'tampered' });
  });
});
