import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBinaries, waitFor } from '../support/control-plane.js';
import { cli, startLocalRun, type CliResult, type LocalRun } from '../support/local-run.js';

/**
 * The `k8s-healer` CLI, run as a user runs it (the package's bin, a process per command) against a
 * real local run: its own control plane with the demo, DynamoDB Local, and an approval-gated
 * eviction so there is something to answer. Exit codes: 0 done, 1 failed, 2 bad input.
 */
const binaries = findBinaries();

/** The exit code, and a text on stdout or stderr. */
function expectExit(result: CliResult, code: number, stream: 'stdout' | 'stderr', text: string): void {
  expect(result.code, `${result.stdout}${result.stderr}`).toBe(code);
  expect(result[stream]).toContain(text);
}
if (!binaries.ok) console.warn(`[cli] skipped: ${binaries.reason}`);

describe.skipIf(!binaries.ok)('the k8s-healer CLI against a local run', () => {
  let local: LocalRun;
  let env: NodeJS.ProcessEnv;
  let link = '';
  let incident = '';
  let pod = '';

  beforeAll(async () => {
    // Prepare: the demo's eviction needs a human here, so the healer waits with a link.
    local = startLocalRun({ KUBECONFIG: '', HEALER_APPROVAL_ACTIONS: 'evict-pod' });
    // The CLI decides with the HEALER_* settings in its own environment, like the healer it reads.
    env = { HEALER_LOCAL_DIR: local.localDir, HEALER_APPROVAL_ACTIONS: 'evict-pod' };
    link = await waitFor(() => /http:\/\/127\.0\.0\.1:\d+\/approve\?token=[\w.-]+/.exec(local.stdout.join(''))?.[0], {
      what: `an approval link on the console; so far:\n${local.lines.join('\n')}`,
      timeoutMs: 150_000,
    });
    // The link is on stdout and the story on stderr: the two streams arrive in either order.
    incident = await waitFor(() => /incident ([0-9a-f]+)/.exec(local.lines.find((l) => l.startsWith('outcome    awaiting-approval')) ?? '')?.[1], {
      what: `the awaiting-approval outcome on the console; so far:\n${local.lines.join('\n')}`,
      timeoutMs: 30_000,
    });
    pod = /Pod healer-demo\/(\S+)/.exec(local.lines.find((l) => l.startsWith('detected')) ?? '')?.[1] ?? '';
    expect(incident).not.toBe('');
  }, 200_000);

  afterAll(async () => {
    await local?.stop();
  });

  it('prints its version and help, and exits 2 on a command it does not know', async () => {
    const version = (JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;
    expect(await cli(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
    expect((await cli(['incidents', '--help'])).stdout).toContain('--namespace <namespace>');
    expect((await cli(['no-such-command'])).code).toBe(2);
  });

  it('lists incidents from the index, filtered, as a table and as JSON', async () => {
    // Act
    const asTable = await cli(['incidents', '--namespace', 'healer-demo'], env);
    const asJson = await cli(['incidents', '--namespace', 'healer-demo', '--outcome', 'awaiting-approval', '-o', 'json'], env);
    const elsewhere = await cli(['incidents', '--namespace', 'elsewhere', '-o', 'json'], env);
    const badFilter = await cli(['incidents', '--since', 'last tuesday'], env);

    // Assess
    expect(asTable.code).toBe(0);
    expect(asTable.stdout.split('\n')[0]).toMatch(/^ID\s+DETECTED\s+NAMESPACE\s+SUBJECT\s+SYMPTOM\s+SOURCE\s+OUTCOME$/);
    expect(asTable.stdout).toContain(`Pod/${pod}`);
    expect((JSON.parse(asJson.stdout) as Record<string, unknown>[]).map((s) => [s.id, s.namespace, s.subject, s.outcome])).toEqual([[incident, 'healer-demo', `Pod/${pod}`, 'awaiting-approval']]);
    expect(JSON.parse(elsewhere.stdout)).toEqual([]);
    expectExit(badFilter, 2, 'stderr', 'is not a time');
  });

  it('shows the timeline and the audit of one incident', async () => {
    const shown = await cli(['show', incident], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`CrashLoopBackOff on Pod/${pod}`);
    for (const step of ['Detected', 'Evidence', 'Diagnosis', 'Policy', 'Approval', 'Page sent', 'Outcome']) expect(shown.stdout).toMatch(new RegExp(`\\s${step}\\s`));
    const decisions = JSON.parse((await cli(['audit', incident, '--step', 'decision', '-o', 'json'], env)).stdout) as { step: string; detail: { allowed: boolean; approvalRequired: boolean } }[];
    expect(decisions.map((d) => [d.step, d.detail.allowed, d.detail.approvalRequired])).toEqual([['decision', true, true]]);
    expectExit(await cli(['show', 'ffffffffffffffffffffffffffffffff'], env), 1, 'stderr', 'no incident');
    expect((await cli(['audit', '--step', 'guess'], env)).code).toBe(2);
  });

  it('replays an Alertmanager payload: says what it would do and does nothing', async () => {
    // Prepare: the demo's "try it" alert names the real pod.
    const tryIt = join(local.localDir, 'try-it.json');
    const auditBefore = JSON.parse((await cli(['audit', '-o', 'json'], env)).stdout) as unknown[];

    // Act
    const replayed = await cli(['replay', tryIt, '-o', 'json'], env);
    const intakeOnly = await cli(['replay', tryIt, '--no-cluster'], env);
    const notJson = await cli(['replay', join(__dirname, '../../README.md')], env);

    // Assess
    expect(replayed.code).toBe(0);
    expect((JSON.parse(replayed.stdout) as Record<string, unknown>[]).map((r) => [r.alert, r.subject, r.would])).toEqual([['KubePodCrashLooping', `Pod healer-demo/${pod}`, `ask approval for evict Pod healer-demo/${pod}`]]);
    expect(intakeOnly.stdout).toContain('enqueue');
    expectExit(notJson, 2, 'stderr', 'not an Alertmanager webhook payload');
    // Nothing was written: the audit holds exactly what it held before.
    expect(JSON.parse((await cli(['audit', '-o', 'json'], env)).stdout)).toEqual(auditBefore);
  });

  it('pauses and resumes the healer through the kill switch', async () => {
    const paused = await cli(['pause'], env);
    expectExit(paused, 0, 'stdout', 'paused: the kill switch is ON');
    expect(readFileSync(join(local.localDir, 'kill-switch'), 'utf8').trim()).toBe('on');
    expect((await cli(['doctor'], env)).stdout).toContain('kill switch: ON');
    expect((await cli(['resume'], env)).stdout).toContain('resumed: the kill switch is OFF');
    expect(readFileSync(join(local.localDir, 'kill-switch'), 'utf8').trim()).toBe('off');
  });

  it('rejects the proposed eviction: recorded, the approval ends, and a later approve is refused', async () => {
    // Act
    const rejected = await cli(['reject', link, '--as', 'alice'], env);
    const approvedAfter = await cli(['approve', link, '--as', 'bob'], env);

    // Assess
    expectExit(rejected, 0, 'stdout', 'Rejected: nothing was done');
    expectExit(approvedAfter, 1, 'stderr', 'already been used');
    const approvals = JSON.parse((await cli(['audit', incident, '--step', 'approval', '-o', 'json'], env)).stdout) as { detail: Record<string, unknown> }[];
    expect(approvals.find((e) => e.detail.rejected !== undefined)?.detail.approver).toMatchObject({ claimedBy: 'alice', userAgent: 'k8s-healer-cli' });
    expect((JSON.parse((await cli(['incidents', '--outcome', 'no-action', '-o', 'json'], env)).stdout) as { id: string }[]).map((s) => s.id)).toEqual([incident]);
    // The pod was never evicted: it is still the one the demo made.
    expect(local.lines.some((l) => l.startsWith('action     evict-pod'))).toBe(false);
  });

  it('prints the RBAC manifests and a healthy doctor report', async () => {
    const rbac = await cli(['rbac']);
    expect(rbac.stdout).toContain('kind: ClusterRole');
    expect(rbac.stdout).toContain('kind: ValidatingAdmissionPolicy');
    const doctor = await cli(['doctor', '-o', 'json'], env);
    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
    expect((JSON.parse(doctor.stdout) as { name: string; ok: boolean }[]).map((c) => [c.name, c.ok])).toEqual([
      ['configuration', true], ['audit table', true], ['state table', true], ['kill switch', true], ['identity access', true], ['cluster', true], ['local prerequisites', true],
    ]);
  });

  it('scans the local run\'s cluster once, read-only, and names the crash-looping demo pod', async () => {
    const scanned = await cli(['scan', '-o', 'json'], env);
    expect(scanned.code, scanned.stderr).toBe(0);
    const found = JSON.parse(scanned.stdout) as { incidents: { symptom: string; subject: { namespace: string; name: string } }[] };
    expect(found.incidents.map((i) => [i.symptom, i.subject.namespace, i.subject.name])).toContainEqual(['CrashLoopBackOff', 'healer-demo', pod]);
    expectExit(await cli(['scan'], env), 0, 'stdout', 'dry run: nothing enqueued');
  });

  it('scans a named cluster through a named context, and refuses names it does not know with exit 2', async () => {
    // Prepare: the local run is one cluster, "local", reached through its kubeconfig's only context
    const context = (await cli(['scan', '-o', 'json', '--context', 'no-such-context'], env));

    // Act
    const named = await cli(['scan', '-o', 'json', '--cluster', 'local'], env);
    const unknown = await cli(['scan', '--cluster', 'prod-eu'], env);

    // Assess
    expect(named.code, named.stderr).toBe(0);
    expect((JSON.parse(named.stdout) as { incidents: { cluster: string }[] }).incidents.every((i) => i.cluster === 'local')).toBe(true);
    expectExit(unknown, 2, 'stderr', '--cluster prod-eu: not one of the configured clusters (local)');
    expectExit(context, 2, 'stderr', 'the kubeconfig has no context "no-such-context"');
  });

  it('says so when no local run is up, with exit 1', async () => {
    expectExit(await cli(['incidents'], { HEALER_LOCAL_DIR: join(local.localDir, 'nowhere') }), 1, 'stderr', 'no running local healer');
  });
});
