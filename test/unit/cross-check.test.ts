/**
 * The cross-check between a model's verdict and the runbook's (lib/diagnose/fallback.ts): a
 * restart is the model's to judge, within what the runbook knows a restart cannot fix; every
 * other action needs the runbook to recognise the same situation and target. Which actions are
 * restarts is each action record's own declaration (`isRestart`), not a list in the diagnoser.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACTIONS } from '../../lib/actions/catalog.js';
import { crossCheck } from '../../lib/diagnose/fallback.js';
import { ACTION_IDS, type ActionId, type Diagnosis, type ObjectRef } from '../../lib/domain/types.js';
import { anEvictDiagnosis, anIncident } from '../fixtures/builders.js';

const incident = anIncident();
const targetOf = (action: ActionId): ObjectRef => ({ kind: ACTIONS[action].targetKinds[0] ?? 'Pod', name: 'web', namespace: 'shop' });
const verdict = (action: ActionId | 'none', overrides: Partial<Diagnosis> = {}): Diagnosis =>
  anEvictDiagnosis(incident, { recommendation: action, ...(action === 'none' ? {} : { target: targetOf(action) }), ...overrides });

describe('crossCheck', () => {
  it('declares exactly the pod-recreating actions as restarts', () => {
    // Act
    const restarts = ACTION_IDS.filter((id) => ACTIONS[id].isRestart);

    // Assess
    expect(restarts).toEqual(['evict-pod', 'rollout-restart']);
  });

  it('lets the model propose a restart the runbook did not, when a restart can help', () => {
    for (const action of ACTION_IDS.filter((id) => ACTIONS[id].isRestart)) {
      // Act
      const reason = crossCheck(verdict(action, { diagnoser: 'claude' }), verdict('none', { restartCanHelp: true, category: 'transient-crash' }));

      // Assess
      expect(reason, action).toBeNull();
    }
  });

  it('never lets the model invent an action that is not a restart (property: any runbook verdict that differs in action or target)', () => {
    const nonRestarts = ACTION_IDS.filter((id) => !ACTIONS[id].isRestart);
    const runbookVerdicts = fc.record({
      recommendation: fc.constantFrom<ActionId | 'none'>('none', ...ACTION_IDS),
      targetName: fc.constantFrom('web', 'api', 'other'),
    });
    fc.assert(
      fc.property(fc.constantFrom(...nonRestarts), runbookVerdicts, (action, runbook) => {
        // Prepare
        const model = verdict(action, { diagnoser: 'claude' });
        const theirs = runbook.recommendation === 'none'
          ? verdict('none')
          : verdict(runbook.recommendation, { target: { ...targetOf(runbook.recommendation), name: runbook.targetName } });

        // Act
        const reason = crossCheck(model, theirs);

        // Assess: accepted only when the runbook proposes the same action for the same target
        const agrees = runbook.recommendation === action && runbook.targetName === 'web';
        expect(reason === null).toBe(agrees);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses any action when the runbook finds a category a restart cannot fix', () => {
    for (const action of ACTION_IDS) {
      // Act
      const reason = crossCheck(verdict(action, { diagnoser: 'claude' }), verdict(action, { restartCanHelp: false, category: 'oom' }));

      // Assess
      expect(reason, action).toMatch(/which a restart cannot fix/);
    }
  });
});
