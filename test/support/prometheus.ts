/**
 * A real Prometheus (Debian's `prometheus` package) that scrapes kube-state-metrics, evaluates the
 * kubernetes-mixin alerting rules exactly as rendered upstream (test/fixtures/kubernetes-mixin)
 * and sends what fires to a real Alertmanager. Only the `for:` durations of the alerts a test
 * names are shortened; every expression, label and annotation is upstream's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './control-plane.js';
import { freePort, spawnSupervised, waitUntilReady, type RunningComponent } from './process.js';

const CANDIDATES = ['/usr/bin/prometheus', '/usr/local/bin/prometheus'];
const MIXIN_DIR = join(REPO_ROOT, 'test/fixtures/kubernetes-mixin');
/** The mixin's selectors say job="kube-state-metrics": the scrape job carries that name. */
export const KSM_JOB = 'kube-state-metrics';

export function prometheusBinary(): string | undefined {
  return CANDIDATES.find((p) => existsSync(p));
}

export function prometheusUnavailable(): string | undefined {
  return prometheusBinary() ? undefined : 'prometheus is not installed (run scripts/setup-tools.sh)';
}

interface Rule {
  readonly alert?: string;
  readonly record?: string;
  readonly for?: string;
  readonly [key: string]: unknown;
}
export interface RuleFile {
  readonly groups: readonly { readonly name: string; readonly rules: readonly Rule[]; readonly [key: string]: unknown }[];
}

/** The rendered upstream rules and the release they come from. */
export function kubernetesMixinAlerts(): { rules: RuleFile; version: string } {
  const rules = JSON.parse(readFileSync(join(MIXIN_DIR, 'prometheus_alerts.json'), 'utf8')) as RuleFile;
  const { tag, commit } = JSON.parse(readFileSync(join(MIXIN_DIR, 'version.json'), 'utf8')) as { tag: string; commit: string };
  return { rules, version: `${tag} (${commit.slice(0, 12)})` };
}

/**
 * The same rules with `for:` set to `duration` on every rule of the named alerts. Throws when a
 * name is not in the file: a renamed upstream alert must fail the test, not silently never fire.
 */
export function withShortFor(file: RuleFile, alerts: readonly string[], duration: string): RuleFile {
  const present = new Set(file.groups.flatMap((g) => g.rules.map((r) => r.alert)));
  const missing = alerts.filter((a) => !present.has(a));
  if (missing.length > 0) throw new Error(`not in the kubernetes-mixin rules: ${missing.join(', ')}`);
  return {
    ...file,
    groups: file.groups.map((g) => ({
      ...g,
      rules: g.rules.map((r) => (r.alert !== undefined && alerts.includes(r.alert) ? { ...r, for: duration } : r)),
    })),
  };
}

export interface Prometheus extends RunningComponent {
  /** Alerts as Prometheus sees them (pending and firing), from its HTTP API. */
  alerts(): Promise<{ labels: Record<string, string>; state: string }[]>;
}

/**
 * Starts Prometheus with a generated configuration: kube-state-metrics scraped every second as job
 * "kube-state-metrics" with honor_labels (as kube-prometheus' ServiceMonitor does, so its
 * namespace/pod labels are never renamed exported_*), rules evaluated every second.
 */
export async function startPrometheus(opts: { kubeStateMetrics: string; alertmanager: string; rules: RuleFile }): Promise<Prometheus> {
  const binary = prometheusBinary();
  if (!binary) throw new Error(prometheusUnavailable());
  const dir = await mkdtemp(join(tmpdir(), 'healer-prometheus-'));
  // JSON is YAML: the rule file is written exactly as parsed.
  await writeFile(join(dir, 'kubernetes-mixin-alerts.json'), JSON.stringify(opts.rules, null, 1));
  const alertmanager = new URL(opts.alertmanager);
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'rule_files:',
    `  - ${JSON.stringify(join(dir, 'kubernetes-mixin-alerts.json'))}`,
    'alerting:',
    '  alertmanagers:',
    '    - api_version: v2',
    '      static_configs:',
    `        - targets: [${JSON.stringify(alertmanager.host)}]`,
    'scrape_configs:',
    `  - job_name: ${KSM_JOB}`,
    '    honor_labels: true',
    '    static_configs:',
    `      - targets: [${JSON.stringify(opts.kubeStateMetrics)}]`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const started = Date.now();
  const proc = spawnSupervised(binary, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    // Alertmanager hears about a firing alert again after this long (default 1m).
    '--rules.alert.resend-delay=1s',
    '--log.level=warn',
  ]);
  await waitUntilReady('prometheus', proc, async () => (await fetch(`${endpoint}/-/ready`)).ok, 30_000);
  return {
    endpoint,
    startMs: Date.now() - started,
    pid: proc.pid,
    async alerts() {
      const response = await fetch(`${endpoint}/api/v1/alerts`);
      if (!response.ok) throw new Error(`prometheus /api/v1/alerts: HTTP ${response.status}`);
      const body = (await response.json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
      return body.data.alerts;
    },
    async stop() {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
