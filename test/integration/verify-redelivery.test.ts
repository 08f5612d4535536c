/**
 * A verification check that fails part-way must not be lost: on DynamoDB Local and moto SNS, the
 * first delivery of a check cannot page (the topic does not exist), so it throws and releases its
 * dedup mark; SQS's redelivery then does the whole check again and pages, and a third delivery
 * of the same check is a duplicate. The observer stands in for the cluster (it is not what is
 * under test here: the mark handling in verifyAction is).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/config.js';
import type { ActionPlan } from '../../lib/actions/plan.js';
import { DynamoActionRecords } from '../../lib/adapters/dynamo-action-records.js';
import { DynamoAuditLog } from '../../lib/adapters/dynamo-audit-log.js';
import { DynamoStateStore } from '../../lib/adapters/dynamo-state-store.js';
import { SnsNotifier } from '../../lib/adapters/sns-notifier.js';
import { verifyAction, type VerifyDeps } from '../../lib/pipeline/verify.js';
import { WriteGate } from '../../lib/pipeline/write-gate.js';
import { systemClock, type ClusterObserver, type ClusterWriter, type VerificationScheduler } from '../../lib/ports/index.js';
import { anIncident } from '../fixtures/builders.js';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';

/** Cluster local, live, nothing protected; re-checks every 60 s, dedup for 600 s (the defaults). */
const SETTINGS = loadConfig({ HEALER_DRY_RUN: 'false', HEALER_DENIED_NAMESPACES: '' }).settings;

describe('a verification check that fails part-way', () => {
  let env: HealerEnv;
  const hex = () => randomBytes(16).toString('hex');

  beforeAll(async () => {
    env = await startHealerEnv();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('releases its mark, so the redelivery checks again and pages; the next one is a duplicate', async () => {
    // Prepare: an eviction recorded as remediate() records it; the evicted pod is gone.
    const incident = anIncident({ id: hex() });
    const plan: ActionPlan = { action: 'evict-pod', target: { kind: 'Pod', name: incident.subject.name, namespace: incident.subject.namespace, uid: 'u-1' }, parameters: {}, summary: 'evict the pod' };
    const actionId = hex();
    const actionRecords = new DynamoActionRecords({ tableName: env.tables.state });
    await actionRecords.put({ actionId, incident, plan, actedAt: new Date().toISOString() }, 3600, Date.now());
    const observer: ClusterObserver = { observe: () => Promise.resolve({ targetPresent: false }) };
    const neverWrites: ClusterWriter = {
      execute: () => Promise.reject(new Error('no write expected')),
      revert: () => Promise.reject(new Error('no write expected')),
    };
    const audit = new DynamoAuditLog({ tableName: env.tables.audit });
    const verifications: VerificationScheduler = { scheduleVerification: () => Promise.reject(new Error('no re-check expected')) };
    const depsWith = (topicArn: string): VerifyDeps => ({
      observer,
      gate: new WriteGate({ writer: neverWrites, reader: { placementOf: () => Promise.reject(new Error('no gate expected')) }, audit, clock: systemClock, settings: SETTINGS }),
      actionRecords,
      state: new DynamoStateStore({ tableName: env.tables.state }),
      audit,
      notifier: new SnsNotifier({ topicArn }),
      clock: systemClock,
      verifications,
      settings: SETTINGS,
    });
    const request = { type: 'verify', incidentId: incident.id, actionId, attempt: 1 } as const;
    const missingTopic = env.inbox.topicArn.replace(/:[^:]+$/, ':no-such-topic');

    // Act
    const first = await verifyAction(request, depsWith(missingTopic)).then(() => 'returned', (e: unknown) => (e instanceof Error ? e.message : String(e)));
    const second = await verifyAction(request, depsWith(env.inbox.topicArn));
    const third = await verifyAction(request, depsWith(env.inbox.topicArn));

    // Assess
    expect(first).not.toBe('returned');
    expect(second).toMatchObject({ status: 'done' });
    expect(third).toBe('duplicate');
    const pages = await env.inbox.receive(2, 3_000);
    expect(pages.map((p) => p.attributes.outcome)).toEqual(['acted']);
    expect(pages[0]?.message).toMatch(/^Verified: evict the pod/);
    // The verified check is the follow-up that resolves the incident's page, keyed by its id.
    expect(pages[0]?.attributes).toMatchObject({ event: 'resolve', severity: 'info', action: 'evict-pod' });
    expect(pages[0]?.page?.pagerduty).toMatchObject({ event_action: 'resolve', dedup_key: incident.id });
  });
});
