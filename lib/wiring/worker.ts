import type { HealerConfig } from '../config/config.js';
import { modelDiagnoserFromConfig } from './model-diagnoser.js';
import type { Diagnoser, Notifier, VerificationScheduler } from '../ports/index.js';
import { actingDeps, type ActingDeps } from './acting.js';
import { secretFrom } from './common.js';

/** The worker's dependencies: acting, plus Claude (behind the runbook) unless a diagnoser is given. */
export async function workerDeps(
  config: HealerConfig,
  overrides: { diagnoser?: Diagnoser; notifier?: Notifier; verifications?: VerificationScheduler } = {},
): Promise<ActingDeps> {
  const given = overrides.diagnoser;
  return actingDeps(config, {
    ...(overrides.notifier ? { notifier: overrides.notifier } : {}),
    ...(overrides.verifications ? { verifications: overrides.verifications } : {}),
    diagnoser: given
      ? () => given
      : async (kubeConfig) => {
          const apiKey = config.anthropicApiKey ?? (config.anthropicKeyParam ? await secretFrom(undefined, config.anthropicKeyParam, 'the Anthropic API key') : undefined);
          return modelDiagnoserFromConfig(config, { apiKey, kubeConfig });
        },
  });
}
