/**
 * The local run's runtime kill switch: a file holding "on" or "off" (`k8s-healer pause` and
 * `resume` write it), read at every decision with the same words and the same fail-closed parsing
 * as the SSM parameter on AWS. A missing or unreadable file counts as engaged.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseKillSwitchValue } from '../adapters/ssm-kill-switch.js';
import type { KillSwitch } from '../ports/index.js';

export class FileKillSwitch implements KillSwitch {
  constructor(readonly path: string) {}

  async engaged(): Promise<boolean> {
    let text: string | undefined;
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      text = undefined;
    }
    return parseKillSwitchValue(this.path, text);
  }

  set(on: boolean): Promise<void> {
    return writeFile(this.path, on ? 'on\n' : 'off\n');
  }
}
