import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dumpYaml, loadYaml } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ALERT_RULES } from '../../lib/intake/incidents.js';
import { REPO_ROOT } from '../support/control-plane.js';

/**
 * The kube-prometheus-stack values in docs/operations.md are copied into clusters as they are: the
 * Alertmanager configuration in them must be one Alertmanager accepts, and route only alerts the
 * healer understands.
 */
const amtool = ['/usr/bin/amtool', '/usr/local/bin/amtool'].find((p) => existsSync(p));
if (amtool === undefined && process.env.CI === 'true') throw new Error('amtool not found; run scripts/setup-tools.sh (prometheus-alertmanager)');

type Values = { alertmanager: { alertmanagerSpec: { secrets: string[] }; config: { route: { routes: { receiver: string; matchers: string[] }[] }; receivers: { name: string; webhook_configs?: { http_config: { authorization: { credentials_file: string } } }[] }[] } } };

function valuesFromDocs(): Values {
  const docs = readFileSync(join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');
  const block = /```yaml\n\s*# values\.yaml for kube-prometheus-stack\n([\s\S]*?)```/.exec(docs)?.[1];
  if (!block) throw new Error('no kube-prometheus-stack values block in docs/operations.md');
  const indent = /^( *)/.exec(block)?.[1]?.length ?? 0;
  return loadYaml<Values>(block.split('\n').map((l) => l.slice(indent)).join('\n'));
}

describe('the kube-prometheus-stack values in docs/operations.md', () => {
  it.skipIf(amtool === undefined)('hold an Alertmanager configuration that amtool accepts', () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'healer-am-values-'));
    const file = join(dir, 'alertmanager.yml');
    writeFileSync(file, dumpYaml(valuesFromDocs().alertmanager.config));
    try {
      // Act / Assess: throws with amtool's output when it refuses
      execFileSync(amtool ?? 'amtool', ['check-config', file], { encoding: 'utf8', stdio: 'pipe' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('route only alerts the healer maps, and read the token from the Secret they mount', () => {
    const values = valuesFromDocs();
    const route = values.alertmanager.config.route.routes.find((r) => r.receiver === 'k8s-healer');
    const names = /alertname =~ "([^"]+)"/.exec(route?.matchers[0] ?? '')?.[1]?.split('|') ?? [];
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => !(n in DEFAULT_ALERT_RULES))).toEqual([]);
    const secret = values.alertmanager.alertmanagerSpec.secrets[0];
    const receiver = values.alertmanager.config.receivers.find((r) => r.name === 'k8s-healer');
    expect(receiver?.webhook_configs?.[0]?.http_config.authorization.credentials_file).toBe(`/etc/alertmanager/secrets/${secret}/token`);
  });
});
