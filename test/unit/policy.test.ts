import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cooldownKey, decide, RULES, type PolicyContext } from '../../lib/policy/policy.js';
import { anEvictDiagnosis, anIncident, evidenceFor } from '../fixtures/builders.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');

function allowedContext(): PolicyContext {
  const incident = anIncident();
  return {
    incident,
    evidence: evidenceFor(incident),
    diagnosis: anEvictDiagnosis(incident),
    settings: { killSwitch: false, dryRun: false, deniedNamespaces: ['kube-system'], minConfidence: 0.7, cluster: 'local' },
    cooldownUntilMs: undefined,
    nowMs: NOW,
  };
}

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
    ['kill-switch', (c: PolicyContext): PolicyContext => ({ ...c, settings: { ...c.settings, killSwitch: true } })],
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
            settings: { ...base.settings, killSwitch, dryRun },
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

  it('denies when there are no rules at all', () => {
    expect(decide(allowedContext(), []).allowed).toBe(false);
  });

  it('keys the cooldown on the workload, so a replacement pod shares it', () => {
    // Prepare
    const first = anIncident({ subject: { kind: 'Pod', name: 'web-7d4b9c-aaaaa', namespace: 'shop' } });
    const second = anIncident({ subject: { kind: 'Pod', name: 'web-7d4b9c-bbbbb', namespace: 'shop' } });
    // Act
    const a = cooldownKey('local', evidenceFor(first), 'evict-pod');
    const b = cooldownKey('local', evidenceFor(second), 'evict-pod');
    // Assess
    expect(a).toBe(b);
    expect(a).toBe('local/shop/Deployment/web/evict-pod');
  });
});
