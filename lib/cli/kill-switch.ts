/** `pause` and `resume`: the runtime kill switch every decision reads (SSM on AWS, a file locally). */
import type { Target } from './target.js';

export async function setPaused(t: Target, paused: boolean, write: (s: string) => void = (s) => process.stdout.write(s)): Promise<void> {
  await t.setKillSwitch(paused);
  const now = await t.killSwitch();
  write(`${now.engaged ? 'paused: the kill switch is ON, no action will be taken' : 'resumed: the kill switch is OFF, allowed actions run again'} (${now.where}, ${t.describe})\n`);
}
