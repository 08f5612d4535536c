import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { currentCluster, findBinaries, REPO_ROOT, waitFor } from '../support/control-plane.js';
import { cleanEnv, startLocalRun, type LocalRun } from '../support/local-run.js';
import { spawnSupervised } from '../support/process.js';
import { DEMO_SECRET } from '../../scripts/demo-workload.js';
import { openBrowser, browserAvailable } from '../support/browser.js';

/**
 * `npm start` as a new user meets it: the real local run as a process of its own. On a machine
 * with no cluster it starts its own control plane and heals its demo; on a cluster it did not
 * start it says whom it acts as, and will not act live as a cluster admin unasked.
 */
const binaries = findBinaries();
if (!binaries.ok) console.warn(`[first-run] the own-control-plane case is skipped: ${binaries.reason}`);

let current: LocalRun | undefined;
afterEach(async () => {
  await current?.stop();
  current = undefined;
});

/** The local run with a clean environment: no AWS endpoints, no model key, no HEALER_* settings. */
function startRun(env: Record<string, string>, args: string[] = []): LocalRun {
  current = startLocalRun(env, args);
  return current;
}

const lineAfter = (lines: string[], prefix: string, from = 0) => lines.findIndex((l, i) => i >= from && l.startsWith(prefix));

describe('the first run on a machine with no cluster', () => {
  it.skipIf(!binaries.ok || !browserAvailable())('starts its own control plane, heals the demo (detection, diagnosis, policy, eviction, verification) and shows it in the incident view', async () => {
    // Prepare / Act: an empty KUBECONFIG means "no cluster", even where ~/.kube/config exists.
    const { lines, stdout, localDir } = startRun({ KUBECONFIG: '' });

    // Assess: the whole loop on the console, in order, for the pod the demo made. The first look
    // right after the eviction sees the replacement Ready, or (on a busy machine) not yet, and then
    // the delayed re-check does: both are the documented way to a verified heal.
    const verifiedNow = (l: string) => l.startsWith('verified   yes');
    const verifiedLater = (l: string) => /^verified {3}incident \S+ \(check \d+\): done,/.test(l);
    await waitFor(() => lines.some((l) => verifiedNow(l) || verifiedLater(l)), { what: `the demo to be healed and verified; console so far:\n${lines.join('\n')}`, timeoutMs: 150_000 });
    const detected = lineAfter(lines, 'detected   CrashLoopBackOff on Pod healer-demo/orders-api-');
    expect(detected).toBeGreaterThanOrEqual(0);
    const pod = /Pod healer-demo\/(\S+)/.exec(lines[detected] ?? '')?.[1] ?? '';
    const firstLook = lines.slice(detected).find((l) => l.startsWith('verified   ')) ?? '';
    const deferred = firstLook.startsWith('verified   not yet');
    const story = ['diagnosis  transient-crash', 'policy     allowed by all', `action     evict-pod on Pod healer-demo/${pod}: done`, deferred ? 'verified   not yet' : 'verified   yes', 'outcome    acted'];
    let at = detected;
    for (const step of story) {
      const next = lineAfter(lines, step, at);
      expect(next, `"${step}" after line ${at}`).toBeGreaterThan(at);
      at = next;
    }
    const incidentId = / incident (\S+)$/.exec(lines[at] ?? '')?.[1] ?? '';
    if (deferred) expect(lines.slice(at).some((l) => verifiedLater(l) && l.includes(`incident ${incidentId} `))).toBe(true);
    expect(lines).toContain('mode:          LIVE: allowed fixes are applied');

    // The "try it" alert names the pod that really crash-looped, and the line points at that file.
    const tryIt = JSON.parse(readFileSync(join(localDir, 'try-it.json'), 'utf8')) as { alerts: { labels: Record<string, string> }[] };
    expect(tryIt.alerts[0]?.labels).toMatchObject({ alertname: 'KubePodCrashLooping', namespace: 'healer-demo', pod });
    expect(lines.some((l) => l.startsWith('try it:') && l.includes(`--data @${join(localDir, 'try-it.json')}`))).toBe(true);

    // The password in the demo's log is on no console line and in no page (stdout holds the pages,
    // and may arrive after the console's stderr: two pipes, read in either order).
    await waitFor(() => stdout.join('').includes('[REDACTED]'), { what: 'a redacted page on stdout', timeoutMs: 10_000 });
    expect(lines.join('\n') + stdout.join('')).not.toContain(DEMO_SECRET);

    // The incident view, in a real browser, by keyboard.
    const base = /webhook URL:\s+(\S+)\/alerts/.exec(lines.join('\n'))?.[1] ?? '';
    expect(lines).toContain(`incidents:     ${base}/incidents   (the incident view: list, filters, each timeline)`);
    await viewIncidentByKeyboard(base, pod, deferred);

    // Stopping stops what it started: its control plane's work directory is gone.
    const workDir = /admin kubeconfig: (\S+)\/admin\.kubeconfig/.exec(lines.join('\n'))?.[1] ?? '';
    expect(workDir).not.toBe('');
    await current?.run.stop(20_000);
    expect(existsSync(workDir)).toBe(false);
  }, 200_000);
});

/** Lists, filters and opens the demo's incident in Chromium using only the keyboard. */
async function viewIncidentByKeyboard(base: string, pod: string, deferred: boolean): Promise<void> {
  const browser = await openBrowser();
  try {
    const page = await browser.newPage();

    // The list: filter by namespace from the form, by keyboard.
    await page.goto(`${base}/incidents`);
    await page.getByLabel('Namespace').focus();
    await page.keyboard.type('healer-demo');
    await page.keyboard.press('Enter');
    await page.waitForURL(/namespace=healer-demo/);
    const row = page.getByRole('row', { name: new RegExp(pod) });
    await expect(row.getByRole('cell').allInnerTexts()).resolves.toEqual([`Pod/${pod}`, 'healer-demo', 'CrashLoopBackOff', 'scan', 'acted', expect.any(String), 'local']);

    // Open the timeline: Tab until the incident's link has focus, then Enter.
    let focused = '';
    for (let i = 0; i < 20 && focused !== `Pod/${pod}`; i++) {
      await page.keyboard.press('Tab');
      focused = (await page.locator(':focus').textContent()) ?? '';
    }
    expect(focused).toBe(`Pod/${pod}`);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/incident\?id=/);
    await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe(`CrashLoopBackOff on Pod/${pod}`);
    const steps = (await page.locator('ol.timeline > li > h3').allInnerTexts()).map((t) => t.split(' · ')[1]?.split(':')[0]);
    expect(steps.slice(0, 8)).toEqual(['Detected', 'Evidence', 'Diagnosis', 'Policy', 'Action', 'Verification', 'Page sent', 'Outcome']);
    // A deferred verification adds its re-checks after the outcome, and the verified outcome last.
    expect(steps.slice(8).join(',')).toMatch(deferred ? /^(Verification,)+Outcome$/ : /^$/);
    const timeline = await page.content();
    expect(timeline).toContain('connection refused');
    expect(timeline).toContain('[REDACTED]');
    expect(timeline).not.toContain(DEMO_SECRET);
    expect(await page.getByRole('table', { name: /Each rule's verdict/ }).first().locator('tbody tr').count()).toBeGreaterThan(10);

    // A bad filter is refused with the reason; a filter that matches nothing says so.
    const bad = await page.goto(`${base}/incidents?outcome=healed-itself`);
    expect(bad?.status()).toBe(400);
    await expect(page.getByRole('alert').innerText()).resolves.toContain('outcome "healed-itself" is not one of');
    await page.goto(`${base}/incidents?namespace=elsewhere`);
    await expect(page.getByRole('status').innerText()).resolves.toBe('No incidents match.');
  } finally {
    await browser.close();
  }
}

describe('k8s-healer serve', () => {
  it('is the local run: it starts, names its identity, and stops on SIGTERM', async () => {
    // Prepare / Act: the CLI's serve, on a cluster the healer did not start (dry run).
    const localDir = mkdtempSync(join(tmpdir(), 'healer-serve-'));
    const serve = spawnSupervised(process.execPath, [join(REPO_ROOT, 'scripts', 'k8s-healer.mjs'), 'serve'], {
      cwd: REPO_ROOT,
      env: { ...cleanEnv(), HEALER_LOCAL_DIR: localDir, KUBECONFIG: currentCluster().healerKubeconfigPath },
    });
    try {
      // Assess
      await waitFor(() => serve.logTail().includes('webhook URL:'), { what: `serve to start; so far:\n${serve.logTail()}`, timeoutMs: 60_000 });
      expect(serve.logTail()).toContain('acting as system:serviceaccount:k8s-healer:k8s-healer');
      expect(existsSync(join(localDir, 'session.json'))).toBe(true);
    } finally {
      await serve.stop(20_000);
    }
    expect(serve.hasExited()).toBe(true);
  });
});

describe('a machine that lacks a prerequisite', () => {
  it('says what is missing and how to fix it before starting anything', async () => {
    // Prepare / Act: Java that cannot run (DynamoDB Local needs it), and no DynamoDB endpoint.
    const { run: child, lines } = startRun({ KUBECONFIG: currentCluster().healerKubeconfigPath, JAVA_HOME: '/nonexistent/java' });
    const exit = await child.exited;

    // Assess
    expect(exit.code).toBe(1);
    const text = lines.join('\n');
    expect(text).toContain('cannot start: 1 prerequisite missing');
    expect(text).toContain('Java 17+ for DynamoDB Local (no runnable java)');
    expect(text).toContain('openjdk-17-jre-headless');
    expect(text).toContain('AWS_ENDPOINT_URL_DYNAMODB=');
    expect(text).not.toMatch(/acting as|starting DynamoDB Local|control plane/);
  });
});

describe('a cluster the healer did not start', () => {
  it('refuses to act live as a cluster admin unless told yes, and starts nothing', async () => {
    // Prepare / Act
    const { run: child, lines } = startRun({ KUBECONFIG: currentCluster().adminKubeconfigPath, HEALER_DRY_RUN: 'false' });
    const exit = await child.exited;

    // Assess
    expect(exit.code).toBe(1);
    const text = lines.join('\n');
    expect(text).toMatch(/acting as \S+.* — a CLUSTER ADMIN/);
    expect(text).toContain('refusing to act live on context');
    expect(text).toContain('--yes');
    expect(text).not.toContain('starting DynamoDB Local');
  });

  it('names the scoped identity it acts as, and starts in dry run without asking', async () => {
    // Prepare / Act
    const { lines } = startRun({ KUBECONFIG: currentCluster().healerKubeconfigPath });

    // Assess
    await waitFor(() => lines.some((l) => l.startsWith('webhook URL:')), { what: `the local run to start; console so far:\n${lines.join('\n')}`, timeoutMs: 60_000 });
    expect(lines.some((l) => l.includes('acting as system:serviceaccount:k8s-healer:k8s-healer') && !l.includes('CLUSTER ADMIN'))).toBe(true);
    expect(lines).toContain('mode:          DRY RUN (set HEALER_DRY_RUN=false to act)');
    expect(lines.some((l) => l.startsWith('demo:'))).toBe(false);
  });
});
