/**
 * The runtime kill switch (lib/adapters/ssm-kill-switch.ts) against moto's real SSM API: "on" and
 * "off", one read shared for the TTL, a flip taking effect once the TTL has passed (a cached "off"
 * never outlives it), and every way of not knowing (an unknown value, a missing parameter, an
 * unreachable SSM) failing closed. Then the same adapter, built the way the worker's wiring builds
 * it, in remediate() against the local control plane: on, missing and off.
 */
import { randomBytes } from 'node:crypto';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSsmClient } from '../../lib/adapters/aws-clients.js';
import { KILL_SWITCH_CACHE_TTL_MS, KillSwitchUnreadableError, SsmKillSwitch } from '../../lib/adapters/ssm-kill-switch.js';
import { loadConfig } from '../../lib/config/config.js';
import { runbookDiagnoser } from '../../lib/diagnose/runbook.js';
import { remediate } from '../../lib/pipeline/remediate.js';
import type { Clock } from '../../lib/ports/index.js';
import { workerDeps } from '../../lib/wiring/worker.js';
import { acquireControlPlane, controlPlaneAvailable, createCrashLoopingDeployment, deleteNamespace, listPods, type ClusterInfo } from '../support/control-plane.js';
import { auditOf, CONNECTION_REFUSED_LOG, crashLoopIncident, waitForCrashLoopingPods } from '../support/crashloop-incidents.js';
import { localAws } from '../support/dynamodb-local.js';
import { startHealerEnv, type HealerEnv } from '../support/healer-env.js';
import { motoUnavailable, startMoto, type Moto } from '../support/moto.js';
import { freePort, mustRun } from '../support/process.js';

const T0 = Date.parse('2026-11-25T03:00:00.000Z');

/** A clock the test moves by hand: the cache's TTL is checked to the millisecond. */
function manualClock(start: number): Clock & { set(ms: number): void } {
  let now = start;
  return { now: () => now, set: (ms) => void (now = ms) };
}

/** Counts the GetParameter requests a client sends (observes, changes nothing). */
function countReads(client: SSMClient): { readonly count: number } {
  const counter = { count: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetParameterCommand') counter.count++;
      return next(args);
    },
    { step: 'initialize', name: 'countKillSwitchReads' },
  );
  return counter;
}

const uniqueName = () => `/k8s-healer/test/kill-switch-${randomBytes(4).toString('hex')}`;

describe.skipIf(motoUnavailable() !== undefined && !mustRun())('SsmKillSwitch on moto SSM', () => {
  let moto: Moto;
  let ssm: SSMClient;
  const put = (name: string, value: string) => ssm.send(new PutParameterCommand({ Name: name, Type: 'String', Value: value, Overwrite: true }));

  beforeAll(async () => {
    moto = await startMoto();
    ssm = moto.ssm();
  });

  afterAll(async () => {
    await moto?.stop();
  });

  it('reads "off" as disengaged and "on" as engaged, with the words an operator may write, in any case', async () => {
    // Prepare
    const cases: [string, boolean][] = [
      ['off', false], ['on', true], ['OFF', false], [' On\n', true], ['false', false], ['true', true], ['no', false], ['yes', true], ['0', false], ['1', true],
    ];
    const seen: [string, boolean][] = [];

    // Act
    for (const [value] of cases) {
      const name = uniqueName();
      await put(name, value);
      seen.push([value, await new SsmKillSwitch({ parameterName: name, client: ssm }).engaged()]);
    }

    // Assess
    expect(seen).toEqual(cases);
  });

  it('serves a batch of decisions from one read: fifty at once and more within the TTL cost one GetParameter', async () => {
    // Prepare
    const name = uniqueName();
    await put(name, 'off');
    const client = createSsmClient({ endpoint: moto.endpoint, ...localAws() });
    const reads = countReads(client);
    const clock = manualClock(T0);
    const killSwitch = new SsmKillSwitch({ parameterName: name, client, clock, ttlMs: 10_000 });

    try {
      // Act
      const concurrent = await Promise.all(Array.from({ length: 50 }, () => killSwitch.engaged()));
      clock.set(T0 + 9_999);
      const later = await killSwitch.engaged();

      // Assess
      expect(concurrent.every((engaged) => !engaged)).toBe(true);
      expect(later).toBe(false);
      expect(reads.count).toBe(1);
    } finally {
      client.destroy();
    }
  });

  it('takes a flip into account once the TTL has passed, in both directions, and never serves a cached value past it', async () => {
    // Prepare
    const name = uniqueName();
    await put(name, 'off');
    const clock = manualClock(T0);
    const killSwitch = new SsmKillSwitch({ parameterName: name, client: ssm, clock, ttlMs: 10_000 });
    const at = async (ms: number) => {
      clock.set(ms);
      return killSwitch.engaged();
    };

    // Act
    const before = await at(T0);
    await put(name, 'on');
    const cachedOff = await at(T0 + 9_999);
    const flippedOn = await at(T0 + 10_000);
    await put(name, 'off');
    const cachedOn = await at(T0 + 19_999);
    const flippedOff = await at(T0 + 20_000);
    await put(name, 'on');
    // A clock that jumps backwards (before the cached read was sent) must not keep the "off".
    const afterClockJump = await at(T0 + 15_000);

    // Assess
    expect({ before, cachedOff, flippedOn, cachedOn, flippedOff, afterClockJump }).toEqual({
      before: false,
      cachedOff: false,
      flippedOn: true,
      cachedOn: true,
      flippedOff: false,
      afterClockJump: true,
    });
  });

  it('with the default TTL on the real clock, a flip to "on" holds for every decision 10 s after it', async () => {
    // Prepare: a warm worker that has just read "off".
    const name = uniqueName();
    await put(name, 'off');
    const killSwitch = new SsmKillSwitch({ parameterName: name, client: ssm });
    expect(await killSwitch.engaged()).toBe(false);

    // Act
    await put(name, 'on');
    const flippedAt = Date.now();
    const rightAfter = await killSwitch.engaged();
    await new Promise((r) => setTimeout(r, flippedAt + KILL_SWITCH_CACHE_TTL_MS - Date.now()));
    const tenSecondsAfter = await killSwitch.engaged();

    // Assess: the batch right after the flip may still see the cached "off"; 10 s later none does.
    expect(KILL_SWITCH_CACHE_TTL_MS).toBe(10_000);
    expect(rightAfter).toBe(false);
    expect(tenSecondsAfter).toBe(true);
  }, 30_000);

  it('fails closed on a value that is not clearly on or off, naming the parameter and the value', async () => {
    // Prepare
    const values = ['maybe', 'disabled', 'of', 'on please'];
    const errors: unknown[] = [];

    // Act
    for (const value of values) {
      const name = uniqueName();
      await put(name, value);
      errors.push(await new SsmKillSwitch({ parameterName: name, client: ssm }).engaged().then(() => undefined, (error: unknown) => error));
    }

    // Assess
    for (const [i, error] of errors.entries()) {
      expect(error).toBeInstanceOf(KillSwitchUnreadableError);
      expect((error as Error).message).toMatch(/^kill switch \/k8s-healer\/test\/kill-switch-[0-9a-f]+ has the value ".*", expected "on" or "off"; treating the kill switch as engaged$/);
      expect((error as Error).message).toContain(JSON.stringify(values[i]));
    }
  });

  it('fails closed on a missing parameter, and reads again on the next decision once it exists', async () => {
    // Prepare
    const name = uniqueName();
    const clock = manualClock(T0);
    const killSwitch = new SsmKillSwitch({ parameterName: name, client: ssm, clock });

    // Act
    const missing = await killSwitch.engaged().then(() => undefined, (error: unknown) => error);
    await put(name, 'off');
    const created = await killSwitch.engaged(); // same instant: a failure is not cached

    // Assess
    expect(missing).toBeInstanceOf(KillSwitchUnreadableError);
    expect((missing as Error).message).toBe(`kill switch ${name} does not exist (SSM ParameterNotFound); treating the kill switch as engaged`);
    expect(created).toBe(false);
  });

  it('fails closed when SSM cannot be reached', async () => {
    // Prepare: an endpoint nobody listens on, with the production client settings (retries, timeouts).
    const client = createSsmClient({ endpoint: `http://127.0.0.1:${await freePort()}`, ...localAws() });
    const killSwitch = new SsmKillSwitch({ parameterName: '/k8s-healer/test/kill-switch', client });

    try {
      // Act
      const started = Date.now();
      const error = await killSwitch.engaged().then(() => undefined, (e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(KillSwitchUnreadableError);
      expect((error as Error).message).toMatch(/^kill switch \/k8s-healer\/test\/kill-switch could not be read \(.*ECONNREFUSED.*\); treating the kill switch as engaged$/s);
      // Well inside a Lambda's time: the decision is denied, not the invocation timed out.
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      client.destroy();
    }
  }, 30_000);
});

/**
 * The adapter in the pipeline, built as lib/wiring/worker.ts builds it (the shared SSM client,
 * whose endpoint comes from AWS_ENDPOINT_URL_SSM), with dry run off: a kill switch that is on or
 * cannot be read stops a real eviction, and "off" lets the same kind of incident be healed.
 */
describe.skipIf(!controlPlaneAvailable())('the SSM kill switch in remediate() on the control plane', () => {
  let cluster: ClusterInfo;
  let release: () => Promise<void>;
  let env: HealerEnv;
  let ssm: SSMClient;
  const namespace = `kill-switch-${randomBytes(3).toString('hex')}`;

  /** A crash-looping Deployment of its own per case, so neither grouping nor cooldown links the cases. */
  async function crashLoopingPod(name: string) {
    const app = await createCrashLoopingDeployment({ namespace, name, previousLog: CONNECTION_REFUSED_LOG, restartPeriodSeconds: 5 });
    const [pod] = await waitForCrashLoopingPods(cluster.adminKubeconfigPath, namespace, app.selector, 1);
    return { app, pod: pod!, incident: crashLoopIncident(namespace, pod!.metadata!.name!) };
  }

  async function depsWith(parameterName: string) {
    const deps = await workerDeps(loadConfig(), { diagnoser: runbookDiagnoser });
    return { ...deps, killSwitch: new SsmKillSwitch({ parameterName }) };
  }

  beforeAll(async () => {
    ({ cluster, release } = await acquireControlPlane());
    env = await startHealerEnv({ KUBECONFIG: cluster.healerKubeconfigPath, HEALER_DRY_RUN: 'false' });
    ssm = env.moto.ssm();
  }, 180_000);

  afterAll(async () => {
    if (cluster) await deleteNamespace(cluster.adminKubeconfigPath, namespace);
    await env?.stop();
    await release?.();
  });

  it('on: the decision is denied by the kill switch, on-call is paged, the pod is untouched', async () => {
    // Prepare
    const parameterName = uniqueName();
    await ssm.send(new PutParameterCommand({ Name: parameterName, Type: 'String', Value: 'on', Overwrite: true }));
    const { app, pod, incident } = await crashLoopingPod('switch-on');

    // Act
    const report = await remediate(incident, await depsWith(parameterName));

    // Assess
    expect(report.outcome).toBe('paged');
    expect(report.decision).toMatchObject({ allowed: false, deniedBy: 'kill-switch' });
    expect((await auditOf(env, incident.id)).some((e) => e.step === 'action')).toBe(false);
    const still = (await listPods(cluster.adminKubeconfigPath, namespace, app.selector)).find((p) => p.metadata?.uid === pod.metadata?.uid);
    expect(still?.metadata?.deletionTimestamp).toBeUndefined();
    const [page, ...more] = await env.inbox.receive(2, 3_000);
    expect(more).toEqual([]);
    expect(page?.attributes).toMatchObject({ outcome: 'paged', severity: 'critical' });
    expect(page?.message).toContain('kill switch is on');
  });

  it('missing parameter: counted as engaged, and the audit says why', async () => {
    // Prepare
    const parameterName = uniqueName();
    const { app, pod, incident } = await crashLoopingPod('switch-missing');

    // Act
    const report = await remediate(incident, await depsWith(parameterName));

    // Assess
    expect(report.outcome).toBe('paged');
    expect(report.decision).toMatchObject({ allowed: false, deniedBy: 'kill-switch' });
    const entries = await auditOf(env, incident.id);
    expect(entries.map((e) => e.detail.killSwitchUnreadable).filter(Boolean)).toEqual([
      `kill switch ${parameterName} does not exist (SSM ParameterNotFound); treating the kill switch as engaged`,
    ]);
    expect(entries.some((e) => e.step === 'action')).toBe(false);
    const still = (await listPods(cluster.adminKubeconfigPath, namespace, app.selector)).find((p) => p.metadata?.uid === pod.metadata?.uid);
    expect(still?.metadata?.deletionTimestamp).toBeUndefined();
    expect((await env.inbox.receive(2, 3_000)).map((n) => n.attributes.outcome)).toEqual(['paged']);
  });

  it('off: the same kind of incident is healed', async () => {
    // Prepare
    const parameterName = uniqueName();
    await ssm.send(new PutParameterCommand({ Name: parameterName, Type: 'String', Value: 'off', Overwrite: true }));
    const { incident } = await crashLoopingPod('switch-off');

    // Act
    const report = await remediate(incident, await depsWith(parameterName));

    // Assess
    expect(report.decision).toMatchObject({ allowed: true });
    expect(report.outcome).toBe('acted');
    expect(report.action).toMatchObject({ action: 'evict-pod', ok: true });
    expect((await env.inbox.receive(2, 3_000)).map((n) => n.attributes.outcome)).toEqual(['acted']);
  });
});
