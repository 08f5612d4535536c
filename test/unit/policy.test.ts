import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cooldownKey, decide, missingInputs, RULES, type PolicyContext, type Rule } from '../../lib/policy/policy.js';
import { actionBudget, actionScopes, RATE_WINDOW_SECONDS, traitsOf } from '../../lib/policy/budget.js';
import { ACTION_IDS, type Recommendation } from '../../lib/domain/types.js';
import { ACTIONS } from '../../lib/actions/catalog.js';
import { cooldownFor } from '../../lib/policy/cooldown.js';
import { loadConfig, type Settings } from '../../lib/config/config.js';
import { anEvictDiagnosis, anIncident, evidenceFor } from '../fixtures/builders.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');

const BASE_SETTINGS: Settings = loadConfig({ HEALER_DRY_RUN: 'false', HEALER_DENIED_NAMESPACES: 'kube-system' }).settings;

type Patchable = 'policy' | 'budgets' | 'scale' | 'approval';
/** The context with some settings changed. Values are `unknown`: policy must fail closed on a missing or bad one. */
function withSettings(c: PolicyContext, groups: { [G in Patchable]?: { [K in keyof Settings[G]]?: unknown } }): PolicyContext {
  const patched = Object.fromEntries(Object.entries(groups).map(([g, v]) => [g, { ...c.settings[g as Patchable], ...v }]));
  return { ...c, settings: { ...c.settings, ...patched } };
}

function allowedContext(): PolicyContext {
  const incident = anIncident();
  return {
    incident,
    evidence: evidenceFor(incident),
    diagnosis: anEvictDiagnosis(incident),
    // The defaults: 0.7 confidence, 3 actions per namespace and 10 per cluster an hour, breaker at 3,
    // 20% of nodes cordoned, scale to 10 by +2 or +50%, a Job stuck after an hour.
    settings: BASE_SETTINGS,
    killSwitchEngaged: false,
    cooldownUntilMs: undefined,
    actionCounts: { namespace: 0, cluster: 0, workload: 0 },
    nowMs: NOW,
  };
}

/** The rules with any action name allowlisted, so an action outside the catalog can be tried too. */
const RULES_WITH_PLANNED_ACTIONS: readonly (readonly [string, Rule])[] = RULES.map(([name, rule]) =>
  [name, name === 'action-allowlisted' ? () => null : rule] as const);

/** A context proposing a planned action: scaling or restarting the Deployment, cordoning the node. */
function plannedContext(action: string, change: (c: PolicyContext) => PolicyContext = (c) => c): PolicyContext {
  const base = allowedContext();
  const cordon = traitsOf(action).cordons;
  const incident = cordon ? anIncident({ symptom: 'NodeNotReady', subject: { kind: 'Node', name: 'node-1', namespace: '' } }) : base.incident;
  const ctx: PolicyContext = {
    ...base,
    incident,
    evidence: cordon
      ? evidenceFor(incident, {
          ownerChain: [{ kind: 'Node', name: 'node-1', uid: 'n-1' }],
          podReady: undefined,
          node: { name: 'node-1', uid: 'n-1', resourceVersion: '7', unschedulable: false, conditions: [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' }] },
        })
      : {
          ...base.evidence,
          governance: {},
          // 2 of 3 available: a restart has something to fix, a scale to 4 is within +2/+50%.
          workload: { kind: 'Deployment', name: 'web', uid: 'd-1', resourceVersion: '42', desiredReplicas: 3, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 3, paused: false, conditions: [], podStates: {} },
        },
    diagnosis: {
      ...base.diagnosis,
      recommendation: action as Recommendation,
      target: cordon ? { kind: 'Node', name: 'node-1' } : action === 'evict-pod' ? base.diagnosis.target : { kind: 'Deployment', name: 'web', namespace: 'shop' },
      ...(action === 'scale-deployment' ? { parameters: { replicas: 4 } } : {}),
    },
    nodes: cordon ? { total: 10, cordoned: 0, schedulableOthers: 9 } : undefined,
  };
  return change(ctx);
}

const verdictOf = (ctx: PolicyContext, rule: string, rules = RULES_WITH_PLANNED_ACTIONS) =>
  decide(ctx, rules).verdicts.find((v) => v.rule === rule)?.reason;

describe('policy', () => {
  it('allows a well-founded eviction and records every rule', () => {
    // Prepare
    const ctx = allowedContext();
    // Act
    const decision = decide(ctx);
    // Assess
    expect(decision.allowed).toBe(true);
    expect(decision.verdicts.map((v) => v.rule)).toEqual(RULES.map(([name]) => name));
    expect(decision.verdicts.every((v) => v.reason === null)).toBe(true);
  });

  it.each([
    ['kill-switch', (c: PolicyContext): PolicyContext => withSettings(c, { policy: { killSwitch: true } })],
    ['kill-switch', (c: PolicyContext): PolicyContext => ({ ...c, killSwitchEngaged: true })],
    ['proposes-action', (c: PolicyContext) => ({ ...c, diagnosis: { ...c.diagnosis, recommendation: 'page' as const } })],
    ['action-allowlisted', (c: PolicyContext) => ({ ...c, diagnosis: { ...c.diagnosis, recommendation: 'delete-deployment' as never } })],
    ['same-cluster', (c: PolicyContext) => ({ ...c, incident: { ...c.incident, cluster: 'prod-eu' } })],
    ['namespace-allowed', (c: PolicyContext) => ({ ...c, incident: { ...c.incident, subject: { ...c.incident.subject, namespace: 'kube-system' } } })],
    ['not-opted-out', (c: PolicyContext) => ({ ...c, evidence: { ...c.evidence, optOut: true } })],
    ['not-opted-out', (c: PolicyContext) => ({ ...c, evidence: { ...c.evidence, namespaceOptOut: true } })],
    ['target-in-owner-chain', (c: PolicyContext) => ({ ...c, diagnosis: { ...c.diagnosis, target: { kind: 'Pod', name: 'someone-else', namespace: 'shop' } } })],
    ['target-in-owner-chain', (c: PolicyContext) => ({ ...c, diagnosis: { ...c.diagnosis, target: undefined } })],
    ['evict-needs-controller', (c: PolicyContext) => ({ ...c, evidence: { ...c.evidence, ownerChain: c.evidence.ownerChain.slice(0, 1) } })],
    ['confidence', (c: PolicyContext) => ({ ...c, diagnosis: { ...c.diagnosis, confidence: 0.3 } })],
    ['restart-can-help', (c: PolicyContext) => ({ ...c, diagnosis: { ...c.diagnosis, restartCanHelp: false } })],
    ['cooldown', (c: PolicyContext) => ({ ...c, cooldownUntilMs: NOW + 1000 })],
    ['still-unhealthy', (c: PolicyContext) => ({ ...c, evidence: { ...c.evidence, podReady: true } })],
    ['still-unhealthy', (c: PolicyContext) => ({ ...c, evidence: { ...c.evidence, deleting: true } })],
    ['inputs-present', (c: PolicyContext) => ({ ...c, actionCounts: undefined })],
    ['inputs-present', (c: PolicyContext) => withSettings(c, { budgets: { maxActionsPerClusterPerHour: undefined } })],
    ['inputs-present', (c: PolicyContext) => ({ ...c, actionCounts: { ...c.actionCounts, namespace: Number.NaN } })],
    ['circuit-breaker', (c: PolicyContext) => ({ ...c, actionCounts: { ...c.actionCounts, workload: 3 } })],
    ['namespace-rate-limit', (c: PolicyContext) => ({ ...c, actionCounts: { ...c.actionCounts, namespace: 3 } })],
    ['cluster-rate-limit', (c: PolicyContext) => ({ ...c, actionCounts: { ...c.actionCounts, cluster: 10 } })],
  ])('denies by %s', (rule, change) => {
    // Prepare
    const ctx = change(allowedContext());
    // Act
    const decision = decide(ctx);
    // Assess
    expect(decision.allowed).toBe(false);
    expect(decision.deniedBy).toBe(rule);
    expect(decision.reason).toMatch(/\S/);
  });

  it('an expired cooldown does not deny', () => {
    expect(decide({ ...allowedContext(), cooldownUntilMs: NOW - 1 }).allowed).toBe(true);
  });

  it('never allows during a cooldown, with the kill switch on, or when any rule throws (property)', () => {
    fc.assert(
      fc.property(
        fc.record({
          killSwitch: fc.boolean(),
          cooldownAheadMs: fc.option(fc.integer({ min: -100_000, max: 100_000 }), { nil: undefined }),
          confidence: fc.double({ min: 0, max: 1, noNaN: true }),
          throwingRule: fc.option(fc.integer({ min: 0, max: RULES.length - 1 }), { nil: undefined }),
          dryRun: fc.boolean(),
        }),
        ({ killSwitch, cooldownAheadMs, confidence, throwingRule, dryRun }) => {
          const base = allowedContext();
          const ctx: PolicyContext = {
            ...base,
            ...withSettings(base, { policy: { killSwitch, dryRun } }),
            diagnosis: { ...base.diagnosis, confidence },
            cooldownUntilMs: cooldownAheadMs === undefined ? undefined : NOW + cooldownAheadMs,
          };
          const rules = RULES.map(([name, rule], i) =>
            [name, i === throwingRule ? () => { throw new Error('boom'); } : rule] as const);
          const decision = decide(ctx, rules);
          const coolingDown = cooldownAheadMs !== undefined && cooldownAheadMs > 0;
          if (killSwitch || coolingDown || throwingRule !== undefined || confidence < 0.7) {
            expect(decision.allowed).toBe(false);
          }
          if (throwingRule !== undefined) {
            expect(decision.verdicts[throwingRule]?.reason).toMatch(/rule failed: boom/);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps every earlier rule, in its order, among the new ones', () => {
    // Assess: the original rules are a subsequence; the new ones sit where they belong.
    expect(RULES.map(([name]) => name)).toEqual([
      'kill-switch', 'proposes-action', 'known-symptom', 'action-allowlisted', 'inputs-present', 'no-instructions-in-cluster-text', 'same-cluster', 'namespace-allowed',
      'not-opted-out', 'owner-chain-complete', 'target-in-owner-chain', 'evict-needs-controller', 'hpa-owns-replicas', 'not-gitops-managed',
      'node-budget', 'action-plan', 'confidence', 'restart-can-help', 'cooldown', 'circuit-breaker', 'namespace-rate-limit',
      'cluster-rate-limit', 'still-unhealthy',
    ]);
  });

  describe('alerts the healer does not know', () => {
    /** An unmapped alert on each kind of subject, as intake makes it (symptom Unknown), proposing that kind's action. */
    const unknownCases: readonly [string, (c: PolicyContext) => PolicyContext][] = [
      ['a Pod (evict-pod)', (c) => c],
      ['a Deployment (rollout-restart)', (_c) => plannedContext('rollout-restart', (p) => ({ ...p, incident: { ...p.incident, subject: { kind: 'Deployment', name: 'web', namespace: 'shop' } }, evidence: { ...p.evidence, subject: { kind: 'Deployment', name: 'web', namespace: 'shop' }, ownerChain: [{ kind: 'Deployment', name: 'web', namespace: 'shop', uid: 'd-1' }] } }))],
      ['a Deployment (scale-deployment)', (_c) => plannedContext('scale-deployment', (p) => ({ ...p, incident: { ...p.incident, subject: { kind: 'Deployment', name: 'web', namespace: 'shop' } }, evidence: { ...p.evidence, subject: { kind: 'Deployment', name: 'web', namespace: 'shop' }, ownerChain: [{ kind: 'Deployment', name: 'web', namespace: 'shop', uid: 'd-1' }] } }))],
      ['a Node (cordon-node)', (c) => plannedContext('cordon-node', (p) => withSettings(p, { policy: { maxCordonedNodeShare: c.settings.policy.maxCordonedNodeShare } }))],
    ];

    it.each(unknownCases)('never acts on an unmapped alert on %s, from either source', (_what, make) => {
      for (const source of ['alertmanager', 'scan'] as const) {
        // Prepare: the same context allows the action with a known symptom.
        const known = make(allowedContext());
        const unknown: PolicyContext = { ...known, incident: { ...known.incident, source, symptom: 'Unknown', alertname: 'BatchQueueSlow' } };

        // Act
        const before = decide(known, RULES_WITH_PLANNED_ACTIONS);
        const after = decide(unknown, RULES_WITH_PLANNED_ACTIONS);

        // Assess
        expect(before.allowed).toBe(true);
        expect(after).toMatchObject({ allowed: false, deniedBy: 'known-symptom' });
        expect(after.reason).toMatch(/does not know symptom "Unknown" \(alert "BatchQueueSlow"\)/);
      }
    });

    it('denies a symptom outside the known list (a malformed message) too, and lets known ones through', () => {
      // Prepare
      const base = allowedContext();
      const odd: PolicyContext = { ...base, incident: { ...base.incident, symptom: 'toString' as never } };

      // Act + Assess
      expect(decide(odd)).toMatchObject({ allowed: false, deniedBy: 'known-symptom' });
      expect(verdictOf(base, 'known-symptom', RULES)).toBeNull();
    });

    it('leaves a page for an unknown alert denied by proposes-action, its plain reason', () => {
      // Prepare
      const base = allowedContext();
      const page: PolicyContext = { ...base, incident: { ...base.incident, symptom: 'Unknown' }, diagnosis: { ...base.diagnosis, recommendation: 'page' } };

      // Act
      const decision = decide(page);

      // Assess
      expect(decision.deniedBy).toBe('proposes-action');
      expect(verdictOf(page, 'known-symptom', RULES)).toMatch(/does not know/);
    });

    it('property: whatever else holds, an Unknown incident is never allowed', () => {
      fc.assert(
        fc.property(
          fc.constantFrom('evict-pod', 'rollout-restart', 'scale-deployment', 'delete-job', 'cordon-node'),
          fc.constantFrom('alertmanager' as const, 'scan' as const),
          fc.boolean(),
          fc.double({ min: 0, max: 1, noNaN: true }),
          (action, source, approved, confidence) => {
            // Prepare
            const ctx = plannedContext(action, (c) => ({ ...c, incident: { ...c.incident, source, symptom: 'Unknown' }, diagnosis: { ...c.diagnosis, confidence }, ...(approved ? { approvedBy: 'on-call' } : {}) }));
            // Act
            const decision = decide(ctx);
            // Assess
            expect(decision.allowed).toBe(false);
            expect(decision.verdicts.find((v) => v.rule === 'known-symptom')?.reason).toMatch(/does not know/);
          },
        ),
        { numRuns: 200 },
      );
    });
  });

  describe('the owner chain', () => {
    it('denies when an owner up the chain was not read, quoting why, whatever the action', () => {
      for (const action of ['evict-pod', 'rollout-restart', 'scale-deployment', 'cordon-node']) {
        // Prepare: the Deployment above the pod's ReplicaSet could not be read (403).
        const ctx = plannedContext(action, (c) => ({
          ...c,
          evidence: { ...c.evidence, ownerChainComplete: false, gaps: ['owner chain incomplete: Deployment shop/web unreadable: HTTP 403: forbidden'] },
        }));

        // Act
        const decision = decide(ctx, RULES_WITH_PLANNED_ACTIONS);

        // Assess
        expect(decision, action).toMatchObject({ allowed: false, deniedBy: 'owner-chain-complete' });
        expect(decision.reason).toMatch(/not read completely.*\(owner chain incomplete: Deployment shop\/web unreadable: HTTP 403/);
      }
    });

    it('reads the structured flag, not the gap text: an absent flag denies, a gap text alone does not', () => {
      // Prepare
      const base = allowedContext();
      const absent = { ...base, evidence: { ...base.evidence, ownerChainComplete: undefined as unknown as boolean } };
      const textOnly = { ...base, evidence: { ...base.evidence, gaps: ['owner chain incomplete: something'] } };

      // Act + Assess
      expect(decide(absent)).toMatchObject({ allowed: false, deniedBy: 'owner-chain-complete' });
      expect(verdictOf(textOnly, 'owner-chain-complete', RULES)).toBeNull();
    });

    it('property: with an incomplete chain nothing is ever allowed, approved or not', () => {
      fc.assert(
        fc.property(
          fc.constantFrom('evict-pod', 'rollout-restart', 'scale-deployment', 'cordon-node'),
          fc.boolean(),
          fc.boolean(),
          (action, approved, optOut) => {
            // Prepare
            const ctx = plannedContext(action, (c) => ({ ...c, evidence: { ...c.evidence, ownerChainComplete: false, optOut }, ...(approved ? { approvedBy: 'on-call' } : {}) }));
            // Act + Assess
            expect(decide(ctx, RULES_WITH_PLANNED_ACTIONS).allowed).toBe(false);
          },
        ),
        { numRuns: 100 },
      );
    });

    it('keys every incident of one workload the same: pods and Job of a CronJob, pods of a StatefulSet', () => {
      // Prepare: the chains the evidence step builds (subject first, then each controller owner).
      const ns = 'batch';
      const cronJob = { kind: 'CronJob', name: 'nightly', namespace: ns, uid: 'cj-1' };
      const job = { kind: 'Job', name: 'nightly-29150400', namespace: ns, uid: 'j-1' };
      const sts = { kind: 'StatefulSet', name: 'db', namespace: ns, uid: 's-1' };
      const keyOf = (subject: { kind: string; name: string }, ownerChain: { kind: string; name: string; namespace: string }[]) =>
        cooldownKey('local', evidenceFor(anIncident({ subject: { ...subject, namespace: ns } }), { ownerChain }));

      // Act
      const podOfJob = keyOf({ kind: 'Pod', name: 'nightly-29150400-abcde' }, [{ kind: 'Pod', name: 'nightly-29150400-abcde', namespace: ns }, job, cronJob]);
      const theJob = keyOf(job, [job, cronJob]);
      const theCronJob = keyOf(cronJob, [cronJob]);
      const podOfSts = keyOf({ kind: 'Pod', name: 'db-0' }, [{ kind: 'Pod', name: 'db-0', namespace: ns }, sts]);
      const otherPodOfSts = keyOf({ kind: 'Pod', name: 'db-1' }, [{ kind: 'Pod', name: 'db-1', namespace: ns }, sts]);
      const theSts = keyOf(sts, [sts]);

      // Assess
      expect(new Set([podOfJob, theJob, theCronJob])).toEqual(new Set(['local/batch/CronJob/nightly']));
      expect(new Set([podOfSts, otherPodOfSts, theSts])).toEqual(new Set(['local/batch/StatefulSet/db']));
    });
  });

  describe('blast radius and circuit breaker', () => {
    it('allows the last action under each limit and denies the one after', () => {
      // Prepare
      const under = allowedContext();
      const counts = { namespace: 2, cluster: 9, workload: 2 };

      // Act
      const last = decide({ ...under, actionCounts: counts });
      const next = (field: keyof typeof counts) => decide({ ...under, actionCounts: { ...counts, [field]: counts[field] + 1 } });

      // Assess
      expect(last.allowed).toBe(true);
      expect(next('namespace').deniedBy).toBe('namespace-rate-limit');
      expect(next('cluster').deniedBy).toBe('cluster-rate-limit');
      expect(next('workload')).toMatchObject({ allowed: false, deniedBy: 'circuit-breaker' });
      expect(next('workload').reason).toMatch(/^circuit breaker open/);
    });

    it('treats a limit of zero as "never act" and a missing count as unknown, not zero', () => {
      // Prepare
      const base = allowedContext();

      // Act
      const zero = decide(withSettings(base, { budgets: { maxActionsPerNamespacePerHour: 0 } }));
      const noCounts = decide({ ...base, actionCounts: {} });

      // Assess
      expect(zero.deniedBy).toBe('namespace-rate-limit');
      expect(noCounts).toMatchObject({ allowed: false, deniedBy: 'inputs-present' });
      expect(noCounts.reason).toMatch(/actionCounts\.namespace, actionCounts\.cluster, actionCounts\.workload/);
    });

    it('asks for counts only when an action is proposed, so a page is audited without noise', () => {
      // Prepare
      const base = allowedContext();
      const page: PolicyContext = { ...base, diagnosis: { ...base.diagnosis, recommendation: 'page' }, actionCounts: undefined };

      // Act
      const decision = decide(page);

      // Assess: none of the new rules objects (a page is not on the allowlist, as before).
      expect(decision.verdicts.filter((v) => v.reason !== null).map((v) => v.rule)).toEqual(['proposes-action', 'action-allowlisted']);
    });

    it('still denies on a missing input when inputs-present is taken out (each rule checks its own)', () => {
      // Prepare
      const rules = RULES.filter(([name]) => name !== 'inputs-present');
      const base = allowedContext();
      const cases: PolicyContext[] = [
        { ...base, actionCounts: { ...base.actionCounts, namespace: undefined } },
        { ...base, actionCounts: { ...base.actionCounts, cluster: -1 } },
        { ...base, actionCounts: { ...base.actionCounts, workload: 1.5 } },
        withSettings(base, { budgets: { circuitBreakerCount: undefined } }),
      ];

      // Act + Assess
      for (const ctx of cases) expect(decide(ctx, rules).allowed).toBe(false);
      expect(decide(plannedContext('cordon-node', (c) => ({ ...c, nodes: undefined })), rules.map(([n, r]) => [n, n === 'action-allowlisted' ? () => null : r] as const)).deniedBy).toBe('node-budget');
    });
  });

  describe('governance and nodes (planned actions)', () => {
    it('never scales a Deployment whose replicas an HPA owns, nor one whose autoscaler is unknown', () => {
      // Prepare
      const hpa = { name: 'web', minReplicas: 2, maxReplicas: 10, currentReplicas: 10, desiredReplicas: 10 };
      const scale = (change: (c: PolicyContext) => PolicyContext) => decide(plannedContext('scale-deployment', change), RULES_WITH_PLANNED_ACTIONS);

      // Act
      const governed = scale((c) => ({ ...c, evidence: { ...c.evidence, governance: { hpa } } }));
      const unread = scale((c) => ({ ...c, evidence: { ...c.evidence, gaps: ['autoscalers unreadable: 403'] } }));
      const unknown = scale((c) => ({ ...c, evidence: { ...c.evidence, governance: undefined } }));
      const free = scale((c) => c);

      // Assess
      expect(governed).toMatchObject({ allowed: false, deniedBy: 'hpa-owns-replicas' });
      expect(governed.reason).toMatch(/HorizontalPodAutoscaler web/);
      expect(unread).toMatchObject({ allowed: false, deniedBy: 'hpa-owns-replicas' });
      expect(unknown).toMatchObject({ allowed: false, deniedBy: 'inputs-present' });
      expect(verdictOf(plannedContext('scale-deployment', (c) => ({ ...c, evidence: { ...c.evidence, governance: undefined } })), 'hpa-owns-replicas')).toMatch(/unknown/);
      expect(free.allowed).toBe(true);
    });

    it('never scales a Deployment up from zero (it was switched off on purpose)', () => {
      // Prepare
      const off = plannedContext('scale-deployment', (c) => ({
        ...c,
        diagnosis: { ...c.diagnosis, parameters: { replicas: 1 } },
        evidence: { ...c.evidence, workload: c.evidence.workload && { ...c.evidence.workload, desiredReplicas: 0, readyReplicas: 0, availableReplicas: 0 } },
      }));

      // Act
      const decision = decide(off, RULES_WITH_PLANNED_ACTIONS);

      // Assess
      expect(decision).toMatchObject({ allowed: false, deniedBy: 'action-plan' });
      expect(decision.reason).toMatch(/scaled to zero/);
    });

    it('deletes a Job only with live proof it is stuck, and never without the threshold', () => {
      // Prepare: an alert said the Job is stuck (KubeJobNotCompleted); the live status decides.
      const incident = anIncident({ symptom: 'JobStuck', subject: { kind: 'Job', name: 'export-1', namespace: 'shop' }, alertname: 'KubeJobNotCompleted' });
      const job = (runningSeconds: number) => ({ name: 'export-1', uid: 'j-1', resourceVersion: '7', active: 1, succeeded: 0, failed: 0, runningSeconds, suspended: false, conditions: [] });
      const ctx = (runningSeconds: number, change: (c: PolicyContext) => PolicyContext = (c) => c): PolicyContext => change({
        ...allowedContext(),
        incident,
        evidence: evidenceFor(incident, { ownerChain: [{ kind: 'Job', name: 'export-1', namespace: 'shop', uid: 'j-1' }], podReady: undefined, job: job(runningSeconds) }),
        diagnosis: { ...anEvictDiagnosis(incident), recommendation: 'delete-job', target: { kind: 'Job', name: 'export-1', namespace: 'shop' } },
      });

      // Act
      const young = decide(ctx(90));
      const stuck = decide(ctx(7200));
      const noThreshold = decide(ctx(7200, (c) => withSettings(c, { policy: { jobStuckSeconds: undefined } })));
      const withoutInputsRule = decide(ctx(7200, (c) => withSettings(c, { policy: { jobStuckSeconds: undefined } })), RULES.filter(([name]) => name !== 'inputs-present'));

      // Assess
      expect(young).toMatchObject({ allowed: false, deniedBy: 'action-plan' });
      expect(young.reason).toMatch(/not proven stuck: it has run 90 s, under the 3600 s stuck threshold/);
      expect(verdictOf(ctx(90), 'still-unhealthy', RULES)).toMatch(/under the 3600 s/);
      expect(stuck.allowed).toBe(true);
      expect(noThreshold).toMatchObject({ allowed: false, deniedBy: 'inputs-present' });
      expect(noThreshold.reason).toMatch(/settings\.jobStuckSeconds/);
      expect(withoutInputsRule).toMatchObject({ allowed: false, deniedBy: 'action-plan' });
    });

    it('does not let an HPA block an action that sets no replica count', () => {
      const hpa = { name: 'web', minReplicas: 2, maxReplicas: 10, currentReplicas: 10, desiredReplicas: 10 };
      const base = allowedContext();
      expect(decide({ ...base, evidence: { ...base.evidence, governance: { hpa } } }).allowed).toBe(true);
    });

    it.each(['scale-deployment', 'rollout-restart', 'some-future-action'])('pages instead of changing a GitOps-managed target: %s', (action) => {
      // Act
      const decision = decide(plannedContext(action, (c) => ({ ...c, evidence: { ...c.evidence, governance: { gitops: 'argocd' } } })), RULES_WITH_PLANNED_ACTIONS);

      // Assess
      expect(decision).toMatchObject({ allowed: false, deniedBy: 'not-gitops-managed' });
      expect(decision.reason).toMatch(/argocd/);
    });

    it('still evicts a pod of a GitOps-managed workload: eviction changes no desired state', () => {
      // Prepare
      const base = allowedContext();
      const ctx: PolicyContext = { ...base, evidence: { ...base.evidence, governance: { gitops: 'flux' } } };

      // Act
      const decision = decide(ctx);

      // Assess
      expect(decision.allowed).toBe(true);
    });

    it.each([
      ['the last schedulable node', { total: 10, cordoned: 0, schedulableOthers: 0 }, 0.2, /no schedulable node/],
      ['past the share of nodes', { total: 10, cordoned: 2, schedulableOthers: 7 }, 0.2, /3 of 10 nodes/],
      ['a small cluster under a 20% share', { total: 4, cordoned: 0, schedulableOthers: 3 }, 0.2, /1 of 4 nodes/],
      ['inconsistent counts', { total: 3, cordoned: 2, schedulableOthers: 2 }, 0.5, /unknown/],
      ['a missing share', { total: 10, cordoned: 0, schedulableOthers: 9 }, undefined, /unknown/],
    ])('never cordons %s', (_label, nodes, share, reason) => {
      // Prepare
      const ctx = plannedContext('cordon-node', (c) => ({ ...withSettings(c, { policy: { maxCordonedNodeShare: share } }), nodes }));

      // Act + Assess
      expect(decide(ctx, RULES_WITH_PLANNED_ACTIONS).allowed).toBe(false);
      expect(verdictOf(ctx, 'node-budget')).toMatch(reason);
    });

    it('cordons within the budget: 2 of 10 nodes at a 20% share', () => {
      // Prepare
      const ctx = plannedContext('cordon-node', (c) => ({ ...c, nodes: { total: 10, cordoned: 1, schedulableOthers: 8 } }));

      // Act + Assess
      expect(decide(ctx, RULES_WITH_PLANNED_ACTIONS).allowed).toBe(true);
      expect(missingInputs(plannedContext('cordon-node', (c) => ({ ...c, nodes: undefined })))).toEqual(['nodes']);
    });

    it('is not fooled by floating point at the budget edge (29 of 100 at 0.29)', () => {
      const ctx = plannedContext('cordon-node', (c) => ({ ...withSettings(c, { policy: { maxCordonedNodeShare: 0.29 } }), nodes: { total: 100, cordoned: 28, schedulableOthers: 71 } }));
      expect(verdictOf(ctx, 'node-budget')).toBeNull();
    });
  });

  describe('properties', () => {
    /** A count or limit as a pipeline might (mis)fill it: usually valid, sometimes absent or garbage. */
    const maybeCount = (max: number) =>
      fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: 0, max }) },
        { weight: 1, arbitrary: fc.constantFrom(undefined, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY) },
      );
    const valid = (v: number | undefined): v is number => v !== undefined && Number.isInteger(v) && v >= 0;

    it('never allows past a rate limit or the breaker, during a cooldown, with the kill switch on, when a rule throws or an input is missing', () => {
      fc.assert(
        fc.property(
          fc.record({
            killSwitch: fc.boolean(),
            cooldownAheadMs: fc.option(fc.integer({ min: -100_000, max: 100_000 }), { nil: undefined }),
            throwingRule: fc.option(fc.integer({ min: 0, max: RULES.length - 1 }), { nil: undefined }),
            nsLimit: maybeCount(5),
            clusterLimit: maybeCount(12),
            breakerLimit: maybeCount(5),
            nsCount: maybeCount(6),
            clusterCount: maybeCount(14),
            workloadCount: maybeCount(6),
            countsProvided: fc.boolean(),
          }),
          (p) => {
            // Prepare
            const base = allowedContext();
            const ctx: PolicyContext = {
              ...base,
              ...withSettings(base, {
                policy: { killSwitch: p.killSwitch },
                budgets: { maxActionsPerNamespacePerHour: p.nsLimit, maxActionsPerClusterPerHour: p.clusterLimit, circuitBreakerCount: p.breakerLimit },
              }),
              cooldownUntilMs: p.cooldownAheadMs === undefined ? undefined : NOW + p.cooldownAheadMs,
              actionCounts: p.countsProvided ? { namespace: p.nsCount, cluster: p.clusterCount, workload: p.workloadCount } : undefined,
            };
            const rules = RULES.map(([name, rule], i) =>
              [name, i === p.throwingRule ? () => { throw new Error('boom'); } : rule] as const);

            // Act
            const decision = decide(ctx, rules);

            // Assess: allowed exactly when nothing forbids it.
            const missing = !p.countsProvided || ![p.nsLimit, p.clusterLimit, p.breakerLimit, p.nsCount, p.clusterCount, p.workloadCount].every(valid);
            const past = (count: number | undefined, limit: number | undefined) => valid(count) && valid(limit) && count >= limit;
            const forbidden = p.killSwitch
              || (p.cooldownAheadMs !== undefined && p.cooldownAheadMs > 0)
              || p.throwingRule !== undefined
              || missing
              || (p.countsProvided && (past(p.nsCount, p.nsLimit) || past(p.clusterCount, p.clusterLimit) || past(p.workloadCount, p.breakerLimit)));
            expect(decision.allowed).toBe(!forbidden);
            if (missing && decision.deniedBy !== 'kill-switch' && p.throwingRule === undefined) expect(decision.deniedBy).toBe('inputs-present');
          },
        ),
        { numRuns: 1000 },
      );
    });

    it('never cordons the last schedulable node or past the node budget, whatever the counts', () => {
      fc.assert(
        fc.property(
          fc.record({
            total: maybeCount(30),
            cordoned: maybeCount(30),
            schedulableOthers: maybeCount(30),
            share: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
            provided: fc.boolean(),
          }),
          (p) => {
            // Prepare
            const nodes = p.provided ? { total: p.total as number, cordoned: p.cordoned as number, schedulableOthers: p.schedulableOthers as number } : undefined;
            const ctx = plannedContext('cordon-node', (c) => ({ ...withSettings(c, { policy: { maxCordonedNodeShare: p.share } }), nodes }));

            // Act
            const decision = decide(ctx, RULES_WITH_PLANNED_ACTIONS);

            // Assess
            if (!decision.allowed) return;
            expect(nodes).toBeDefined();
            expect(p.share).toBeDefined();
            const n = nodes as NonNullable<typeof nodes>;
            expect([n.total, n.cordoned, n.schedulableOthers].every(valid)).toBe(true);
            expect(n.schedulableOthers).toBeGreaterThanOrEqual(1);
            expect(n.cordoned + n.schedulableOthers + 1).toBeLessThanOrEqual(n.total);
            expect((n.cordoned + 1) / n.total).toBeLessThanOrEqual((p.share as number) + 1e-9);
          },
        ),
        { numRuns: 1000 },
      );
    });

    it('never changes a GitOps or HPA-governed target, nor one whose governance is unknown', () => {
      fc.assert(
        fc.property(
          fc.constantFrom('scale-deployment', 'rollout-restart', 'evict-pod', 'some-future-action'),
          fc.option(fc.record({ gitops: fc.option(fc.constantFrom('argocd' as const, 'flux' as const), { nil: undefined }), withHpa: fc.boolean() }), { nil: undefined }),
          (action, governance) => {
            // Prepare
            const hpa = { name: 'web', minReplicas: 1, maxReplicas: 5, currentReplicas: 5, desiredReplicas: 5 };
            const ctx = plannedContext(action, (c) => ({
              ...c,
              evidence: { ...c.evidence, governance: governance && { gitops: governance.gitops, hpa: governance.withHpa ? hpa : undefined } },
            }));

            // Act
            const decision = decide(ctx, RULES_WITH_PLANNED_ACTIONS);

            // Assess
            const traits = traitsOf(action);
            if (traits.changesDesiredState && (governance === undefined || governance.gitops !== undefined)) expect(decision.allowed).toBe(false);
            if (traits.scales && (governance === undefined || governance.withHpa)) expect(decision.allowed).toBe(false);
            if (!traits.changesDesiredState) expect(decision.allowed).toBe(true);
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  it('counts an action against its namespace, the cluster and its workload, with the configured limits', () => {
    // Prepare
    const incident = anIncident();

    // Act
    const scopes = actionScopes('local', evidenceFor(incident));
    const budget = actionBudget(scopes, { maxActionsPerNamespacePerHour: 3, maxActionsPerClusterPerHour: 10, circuitBreakerCount: 3, circuitBreakerWindowSeconds: 86_400 });

    // Assess: a replacement pod shares the workload scope; the two windows stay separate calls.
    expect(scopes).toEqual({ namespace: 'namespace#local/shop', cluster: 'cluster#local', workload: 'workload#local/shop/Deployment/web' });
    expect(budget.rate).toEqual({ scopeKeys: [scopes.namespace, scopes.cluster], limits: { [scopes.namespace]: 3, [scopes.cluster]: 10 }, windowSeconds: RATE_WINDOW_SECONDS });
    expect(budget.breaker).toEqual({ scopeKeys: [scopes.workload], limits: { [scopes.workload]: 3 }, windowSeconds: 86_400 });
  });

  it('treats an unknown action as changing desired state, and knows the planned ones', () => {
    expect(traitsOf('evict-pod')).toEqual({ changesDesiredState: false, scales: false, cordons: false });
    expect(traitsOf('cordon-node')).toMatchObject({ changesDesiredState: false, cordons: true });
    expect(traitsOf('scale-deployment')).toMatchObject({ changesDesiredState: true, scales: true });
    expect(traitsOf('scale-statefulset')).toMatchObject({ changesDesiredState: true, scales: true });
    expect(traitsOf('toString')).toMatchObject({ changesDesiredState: true });
  });

  it('denies when there are no rules at all', () => {
    expect(decide(allowedContext(), []).allowed).toBe(false);
  });

  it('keys the cooldown on the workload, whatever the pod or the action, so one workload gets one fix at a time', () => {
    // Prepare
    const first = anIncident({ subject: { kind: 'Pod', name: 'web-7d4b9c-aaaaa', namespace: 'shop' } });
    const second = anIncident({ subject: { kind: 'Pod', name: 'web-7d4b9c-bbbbb', namespace: 'shop' } });
    const deployment = anIncident({ symptom: 'DeploymentUnavailable', subject: { kind: 'Deployment', name: 'web', namespace: 'shop' } });
    // Act
    const a = cooldownKey('local', evidenceFor(first));
    const b = cooldownKey('local', evidenceFor(second));
    const c = cooldownKey('local', evidenceFor(deployment, { ownerChain: [{ kind: 'Deployment', name: 'web', namespace: 'shop' }] }));
    // Assess
    expect(a).toBe(b);
    expect(c).toBe(a);
    expect(a).toBe('local/shop/Deployment/web');
  });
});

describe('cooldownFor', () => {
  it('takes HEALER_COOLDOWN_SECONDS for every action when set, else each action\'s own', () => {
    // Prepare
    const own = loadConfig({}).settings;
    const site = loadConfig({ HEALER_COOLDOWN_SECONDS: '120' }).settings;
    // Act + Assess
    for (const action of ACTION_IDS) {
      expect(cooldownFor(action, own)).toBe(ACTIONS[action].cooldownSeconds);
      expect(cooldownFor(action, site)).toBe(120);
    }
  });
});
