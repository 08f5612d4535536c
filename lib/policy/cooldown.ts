import { ACTIONS } from '../actions/catalog.js';
import type { ActionId } from '../domain/types.js';
import type { Settings } from '../config/config.js';

/**
 * How long a workload cools down after this action: HEALER_COOLDOWN_SECONDS when the site sets
 * one for every action, else the action's own (its record, lib/actions/<id>.ts). The one place that says so.
 */
export function cooldownFor(action: ActionId, settings: Pick<Settings, 'budgets'>): number {
  return settings.budgets.cooldownSeconds ?? ACTIONS[action].cooldownSeconds;
}
