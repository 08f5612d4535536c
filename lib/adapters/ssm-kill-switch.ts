/**
 * The runtime kill switch: a String parameter in SSM that operators flip without a deploy
 * (`aws ssm put-parameter --overwrite --name <param> --value on`). Read right before each decision;
 * one read is shared for a short TTL (default 10 s) so a batch of messages does not read SSM per
 * message, and a value is never served after its TTL: flipping it "on" stops every action within
 * the TTL (plus one in-flight decision).
 *
 * Fails closed: a missing parameter, a value that is not clearly on or off, or a read that fails
 * throws a KillSwitchUnreadableError, which the pipeline (lib/pipeline/remediate.ts) treats as
 * engaged and audits with this error's message.
 */
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { systemClock, type Clock, type KillSwitch } from '../ports/index.js';
import { ssmClient } from './aws-clients.js';

export const KILL_SWITCH_CACHE_TTL_MS = 10_000;

/** The words an operator may write; the same as the HEALER_KILL_SWITCH environment flag accepts. */
const ENGAGED = new Set(['on', 'true', 'yes', '1']);
const DISENGAGED = new Set(['off', 'false', 'no', '0']);

export class KillSwitchUnreadableError extends Error {
  constructor(readonly parameterName: string, why: string, options?: { cause?: unknown }) {
    super(`kill switch ${parameterName} ${why}; treating the kill switch as engaged`, options);
    this.name = 'KillSwitchUnreadableError';
  }
}

export interface SsmKillSwitchOptions {
  /** Name of the SSM String parameter, e.g. /k8s-healer/prod/kill-switch. */
  readonly parameterName: string;
  readonly client?: SSMClient;
  /** How long one read is reused; 0 reads SSM on every call. */
  readonly ttlMs?: number;
  readonly clock?: Clock;
}

/** Parses the parameter's value; anything but a clear on/off throws (fail closed). */
export function parseKillSwitchValue(parameterName: string, value: string | undefined): boolean {
  if (value === undefined) throw new KillSwitchUnreadableError(parameterName, 'has no value');
  const normalised = value.trim().toLowerCase();
  if (ENGAGED.has(normalised)) return true;
  if (DISENGAGED.has(normalised)) return false;
  const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  throw new KillSwitchUnreadableError(parameterName, `has the value ${shown}, expected "on" or "off"`);
}

export class SsmKillSwitch implements KillSwitch {
  readonly parameterName: string;
  private readonly client: SSMClient | undefined;
  private readonly ttlMs: number;
  private readonly clock: Clock;
  /** The last read (or the one in flight), timed from when it was sent, not when it answered. */
  private cached: { readonly value: Promise<boolean>; readonly sentAtMs: number } | undefined;

  constructor(options: SsmKillSwitchOptions) {
    if (options.parameterName.trim() === '') throw new Error('SsmKillSwitch needs a parameter name');
    this.parameterName = options.parameterName;
    this.client = options.client;
    this.ttlMs = Math.max(0, options.ttlMs ?? KILL_SWITCH_CACHE_TTL_MS);
    this.clock = options.clock ?? systemClock;
  }

  engaged(): Promise<boolean> {
    const now = this.clock.now();
    const hit = this.cached;
    // A clock that went backwards also misses: a cached "off" is never stretched past its TTL.
    if (hit !== undefined && hit.sentAtMs <= now && now < hit.sentAtMs + this.ttlMs) return hit.value;

    const value = this.read();
    const entry = { value, sentAtMs: now };
    this.cached = entry;
    // A failed read is not reused: the next decision asks SSM again (and fails closed again if it must).
    value.catch(() => {
      if (this.cached === entry) this.cached = undefined;
    });
    return value;
  }

  private async read(): Promise<boolean> {
    let value: string | undefined;
    try {
      const result = await (this.client ?? ssmClient()).send(new GetParameterCommand({ Name: this.parameterName }));
      value = result.Parameter?.Value;
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (name === 'ParameterNotFound') throw new KillSwitchUnreadableError(this.parameterName, 'does not exist (SSM ParameterNotFound)', { cause: error });
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new KillSwitchUnreadableError(this.parameterName, `could not be read (${message.slice(0, 300)})`, { cause: error });
    }
    return parseKillSwitchValue(this.parameterName, value);
  }
}
