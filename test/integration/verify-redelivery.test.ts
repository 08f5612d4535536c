/**
 * Verification checks as SQS delivers them (at least once, sometimes late), on DynamoDB Local and
 * moto SNS. A check that fails part-way must not be lost: the first delivery cannot page (the
 * topic does not exist), so it throws and releases its marks; SQS's redelivery then does the whole
 * check again and pages, and a third delivery of the same check is a duplicate. An action judged
 * once is never judged again, even by a message redelivered after the dedup window; a pending
 * one stays open for the next attempt. The observer stands in for the cluster (it is not what is
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
import type { ClusterWriter, VerificationScheduler } from '../../lib/ports/index.js';
import { anIncident } from '../fixtures/builders.js';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';

/** Cluster local, live, nothing protected; re-checks every 60 s, dedup for 600 s (the defaults). */
const SETTINGS = loadConfig({ HEALER_DRY_RUN: 'false', HEALER_DENIED_NAMESPACES: '' }).settings;

describe('verification checks delivered more than once', () => {
  let env: HealerEnv;
  const hex = () => randomBytes(16).toString('hex');

  beforeAll(async () => {
    env = await startHealerEnv();
  });
  afterAll(async () => {
    await env?.stop();
  });

  /** An eviction recorded as remediate() records it, and the worker's deps around it. */
  async function recordedEviction() {
    const incident = anIncident({ id: hex() });
    const plan: ActionPlan = { action: 'evict-pod', target: { kind: 'Pod', name: incident.subject.name, namespace: incident.subject.namespace, uid: 'u-1' }, parameters: {}, summary: 'evict the pod' };
    const actionId = hex();
    const actionRecords = new DynamoActionRecords({ tableName: env.tables.state });
    await actionRecords.put({ actionId, incident, plan, actedAt: new Date().toISOString() }, 3600, Date.now());
    const neverWrites: ClusterWriter = {
      execute: () => Promise.reject(new Error('no write expected')),
      revert: () => Promise.reject(new Error('no write expected')),
    };
    const audit = new DynamoAuditLog({ tableName: env.tables.audit });
    const scheduled: number[] = [];
    const verifications: VerificationScheduler = { scheduleVerification: (next) => Promise.resolve(void scheduled.push(next.attempt)) };
    /** The deps as one invocation builds them: what the cluster shows, which topic, what time it is. */
    const depsWith = ({ topicArn = env.inbox.topicArn, podStillThere = false, laterMs = 0 } = {}): VerifyDeps => {
      const clock = { now: () => Date.now() + laterMs };
      return {
        observer: { observe: () => Promise.resolve({ targetPresent: podStillThere }) },
        gate: new WriteGate({ writer: neverWrites, reader: { placementOf: () => Promise.reject(new Error('no gate expected')) }, audit, clock, settings: SETTINGS }),
        actionRecords,
        state: new DynamoStateStore({ tableName: env.tables.state }),
        audit,
        notifier: new SnsNotifier({ topicArn }),
        clock,
        verifications,
        settings: SETTINGS,
      };
    };
    const request = (attempt: number) => ({ type: 'verify', incidentId: incident.id, actionId, attempt }) as const;
    /** What a worker that crashed part-way through a check of this action leaves: its claim, held. */
    const crashedMidCheck = (lockSeconds: number, mark = `verified#${actionId}`) => new DynamoStateStore({ tableName: env.tables.state }).claimIncident(mark, lockSeconds, Date.now());
    const verificationsAudited = async () => (await audit.listForIncident(incident.id)).filter((e) => e.step === 'verification');
    return { incident, actionId, depsWith, request, scheduled, verificationsAudited, crashedMidCheck };
  }

  it('a check that fails part-way releases its marks, so the redelivery checks again and pages; the next one is a duplicate', async () => {
    // Prepare
    const { incident, depsWith, request } = await recordedEviction();
    const missingTopic = env.inbox.topicArn.replace(/:[^:]+$/, ':no-such-topic');

    // Act
    const first = await verifyAction(request(1), depsWith({ topicArn: missingTopic })).then(() => 'returned', (e: unknown) => (e instanceof Error ? e.message : String(e)));
    const second = await verifyAction(request(1), depsWith());
    const third = await verifyAction(request(1), depsWith());

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

  it('an action judged once is not judged again by a check redelivered after the dedup window', async () => {
    // Prepare: judged done now.
    const { depsWith, request, verificationsAudited } = await recordedEviction();
    expect(await verifyAction(request(2), depsWith())).toMatchObject({ status: 'done' });
    await env.inbox.receive(1, 3_000);

    // Act: the same check, and an earlier attempt's, delivered again 20 minutes later (the dedup
    // window is 10), when the cluster would tell another story.
    const late = await verifyAction(request(2), depsWith({ podStillThere: true, laterMs: 1_200_000 }));
    const earlier = await verifyAction(request(1), depsWith({ podStillThere: true, laterMs: 1_200_000 }));

    // Assess: judged once, paged once.
    expect([late, earlier]).toEqual(['duplicate', 'duplicate']);
    expect(await verificationsAudited()).toHaveLength(1);
    expect(await env.inbox.receive(1, 2_000)).toHaveLength(0);
  });

  it('a pending check leaves the action open: the next attempt judges it', async () => {
    // Prepare
    const { incident, depsWith, request, scheduled, verificationsAudited } = await recordedEviction();

    // Act
    const pending = await verifyAction(request(1), depsWith({ podStillThere: true }));
    const next = await verifyAction(request(2), depsWith({ laterMs: 60_000 }));

    // Assess
    expect(pending).toMatchObject({ status: 'pending' });
    expect(scheduled).toEqual([2]);
    expect(next).toMatchObject({ status: 'done' });
    expect((await verificationsAudited()).map((e) => e.detail.status)).toEqual(['pending', 'done']);
    const pages = (await env.inbox.receive(3, 3_000)).filter((p) => p.page?.pagerduty?.dedup_key === incident.id);
    expect(pages.map((p) => p.attributes.outcome)).toEqual(['acted']);
  });

  it('a check that finds another holding the action (a crashed worker) is retried, never dropped; once the hold ends it judges', async () => {
    // Prepare: a worker crashed mid-check, holding the action for an hour (HEALER_LOCK_SECONDS may be 3600).
    const { incident, depsWith, request, crashedMidCheck } = await recordedEviction();
    expect(await crashedMidCheck(3600)).toBe(true);

    // Act: SQS delivers the check while the hold stands, and again once it has run out.
    const whileHeld = await verifyAction(request(1), depsWith()).then(() => 'returned', (e: unknown) => (e instanceof Error ? e.message : String(e)));
    const afterHold = await verifyAction(request(1), depsWith({ laterMs: 3_700_000 }));

    // Assess: the first delivery fails (SQS delivers it again; its own mark is released), the next judges and pages.
    expect(whileHeld).toMatch(/verified#\w+ is in progress elsewhere .*this one is retried/);
    expect(afterHold).toMatchObject({ status: 'done' });
    const pages = (await env.inbox.receive(3, 3_000)).filter((p) => p.page?.pagerduty?.dedup_key === incident.id);
    expect(pages.map((p) => p.attributes.outcome)).toEqual(['acted']);
  });

  it('a delivery of a check whose first delivery crashed is retried until that one\'s lease ends, however long the dedup window', async () => {
    // Prepare: attempt 1's first delivery crashed mid-check (a Lambda timeout), holding its own mark.
    const { incident, actionId, depsWith, request, crashedMidCheck } = await recordedEviction();
    expect(await crashedMidCheck(300, `verify#${actionId}#1`)).toBe(true);

    // Act: SQS delivers attempt 1 again while that lease stands, and once it ended (inside the
    // 10-minute dedup window, which used to make the redelivery a duplicate).
    const whileHeld = await verifyAction(request(1), depsWith()).then(() => 'returned', (e: unknown) => (e instanceof Error ? e.message : String(e)));
    const afterLease = await verifyAction(request(1), depsWith({ laterMs: 400_000 }));
    const again = await verifyAction(request(1), depsWith({ laterMs: 410_000 }));

    // Assess: retried, then judged once; a later redelivery of the finished check is a duplicate.
    expect(whileHeld).toMatch(/verify#\w+#1 is in progress elsewhere .*this one is retried/);
    expect(afterLease).toMatchObject({ status: 'done' });
    expect(again).toBe('duplicate');
    const pages = (await env.inbox.receive(3, 3_000)).filter((p) => p.page?.pagerduty?.dedup_key === incident.id);
    expect(pages.map((p) => p.attributes.outcome)).toEqual(['acted']);
  });
});
