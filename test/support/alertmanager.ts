/**
 * A real Alertmanager (Debian's prometheus-alertmanager 0.25) that delivers webhooks to the
 * healer's local HTTP endpoint, exactly as a production Alertmanager would.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnSupervised, waitUntilReady, type RunningComponent } from './process.js';

const CANDIDATES = ['/usr/bin/prometheus-alertmanager', '/usr/bin/alertmanager', '/usr/local/bin/alertmanager'];

export function alertmanagerBinary(): string | undefined {
  return CANDIDATES.find((p) => existsSync(p));
}

export function alertmanagerUnavailable(): string | undefined {
  return alertmanagerBinary() ? undefined : 'prometheus-alertmanager is not installed (run scripts/setup-tools.sh)';
}

export interface Alertmanager extends RunningComponent {
  /** Posts alerts through Alertmanager's own API, as Prometheus would. */
  postAlerts(alerts: readonly AlertInput[]): Promise<void>;
}

export interface AlertInput {
  readonly labels: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly startsAt?: string;
  readonly endsAt?: string;
}

export async function startAlertmanager(opts: {
  webhookUrl: string;
  bearerToken: string;
  /** How soon Alertmanager re-sends a still-firing group (exercises duplicate delivery). */
  repeatInterval?: string;
}): Promise<Alertmanager> {
  const binary = alertmanagerBinary();
  if (!binary) throw new Error(alertmanagerUnavailable());
  const dir = await mkdtemp(join(tmpdir(), 'healer-alertmanager-'));
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, opts.bearerToken, { mode: 0o600 });
  // Short timings so a test sees the first delivery within a second and a re-send soon after.
  const config = [
    'route:',
    '  receiver: healer',
    "  group_by: ['alertname', 'namespace', 'pod']",
    '  group_wait: 0s',
    '  group_interval: 1s',
    `  repeat_interval: ${opts.repeatInterval ?? '2s'}`,
    'receivers:',
    '  - name: healer',
    '    webhook_configs:',
    `      - url: ${JSON.stringify(opts.webhookUrl)}`,
    '        send_resolved: true',
    '        max_alerts: 100',
    '        http_config:',
    '          authorization:',
    '            type: Bearer',
    `            credentials_file: ${JSON.stringify(tokenFile)}`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'alertmanager.yml'), config);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const started = Date.now();
  const proc = spawnSupervised(binary, [
    `--config.file=${join(dir, 'alertmanager.yml')}`,
    `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
    '--log.level=info',
  ]);
  await waitUntilReady('alertmanager', proc, async () => (await fetch(`${endpoint}/-/ready`)).ok, 20_000);
  return {
    endpoint,
    startMs: Date.now() - started,
    pid: proc.pid,
    async postAlerts(alerts) {
      const response = await fetch(`${endpoint}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
      });
      if (!response.ok) throw new Error(`alertmanager rejected alerts: HTTP ${response.status} ${await response.text()}`);
    },
    async stop() {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
