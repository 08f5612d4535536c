import type { HealerConfig } from '../config/config.js';
import { modelDiagnoserFromConfig } from './model-diagnoser.js';
import type { Diagnoser, KillSwitch, Notifier, VerificationScheduler } from '../ports/index.js';
import { actingDeps, type ActingDeps } from './acting.js';
import { secretFrom } from './common.js';
import { log } from './middleware.js';
import type { Metrics } from '../ports/metrics.js';

/**
 * The worker's dependencies: acting, plus Claude (behind the runbook) unless a diagnoser is given.
 * The model key is optional: when its parameter is missing or cannot be read, the runbook answers
 * and the deps are marked degraded, so the next invocation reads the key again.
 */
export async function workerDeps(
  config: HealerConfig,
  overrides: { diagnoser?: Diagnoser; notifier?: Notifier; verifications?: VerificationScheduler; killSwitch?: KillSwitch; metrics?: Metrics } = {},
): Promise<ActingDeps> {
  const given = overrides.diagnoser;
  return actingDeps(config, {
    ...(overrides.notifier ? { notifier: overrides.notifier } : {}),
    ...(overrides.verifications ? { verifications: overrides.verifications } : {}),
    ...(overrides.killSwitch ? { killSwitch: overrides.killSwitch } : {}),
    ...(overrides.metrics ? { metrics: overrides.metrics } : {}),
    diagnoser: given
      ? () => given
      : async (kubeConfig, degraded) => {
          let apiKey = config.anthropicApiKey;
          if (!apiKey && config.anthropicKeyParam) {
            try {
              apiKey = await secretFrom(undefined, config.anthropicKeyParam, 'the Anthropic API key');
            } catch (error) {
              const reason = `model key unreadable, the runbook diagnoses: ${error instanceof Error ? error.message : String(error)}`;
              log('warn', 'model key unreadable; runbook diagnosis', { param: config.anthropicKeyParam, error: reason });
              degraded.push(reason);
            }
          }
          return modelDiagnoserFromConfig(config, { apiKey, kubeConfig, metrics: overrides.metrics });
        },
  });
}

/**
 * Builds dependencies on demand, inside each invocation's own error handling: a success is kept
 * for the container's later invocations, a failure or a degraded result is not (the next call
 * builds again), so one transient error never sticks.
 */
export function depsOnDemand<T extends { readonly degraded: readonly string[] }>(build: () => Promise<T>): () => Promise<T> {
  let kept: T | undefined;
  return async () => {
    if (kept) return kept;
    const built = await build();
    if (built.degraded.length === 0) kept = built;
    return built;
  };
}
