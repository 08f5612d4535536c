/**
 * Debian's Chromium, driven headless by playwright-core (Playwright's own browser download is not
 * reachable here); Playwright gives each launch a fresh empty profile. `scripts/setup-tools.sh` installs it; CHROMIUM overrides the path.
 */
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** True when Chromium can run; under CI=true a missing one is an error, never a skip. */
export function browserAvailable(): boolean {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error(`CI=true and no Chromium at ${CHROMIUM}: run bash scripts/setup-tools.sh`);
    console.warn(`[browser] skipping: no Chromium at ${CHROMIUM} (bash scripts/setup-tools.sh installs it)`);
    return false;
  }
}

export function openBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Without the background-networking flags Chromium keeps dialling Google on this closed network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
