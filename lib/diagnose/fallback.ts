import { ACTION_IDS, type Diagnosis, type DiagnosisCategory, type Evidence, type Incident, type Recommendation } from '../domain/types.js';
import type { DiagnoseOptions, Diagnoser } from '../ports/index.js';

/**
 * The model is optional and fallible; the runbook is neither. This wrapper answers with the
 * runbook when there is no model, when the model fails or its verdict is refused, and it
 * cross-checks a model's action against what the runbook knows a restart cannot fix.
 */

/** Categories where recreating the pod repeats the failure. */
export const RESTART_USELESS: readonly DiagnosisCategory[] = ['oom', 'image-pull', 'config-error', 'bad-release'];

const isAction = (r: Recommendation): boolean => (ACTION_IDS as readonly string[]).includes(r);

function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** Usage and model of a failed model call, when the error carries them (DiagnosisUnavailable does). */
function spentOn(err: unknown): Pick<Diagnosis, 'usage' | 'model'> {
  const details = (err as { details?: { usage?: Diagnosis['usage']; model?: string } } | undefined)?.details;
  return {
    ...(details?.usage ? { usage: details.usage } : {}),
    ...(details?.model ? { model: details.model } : {}),
  };
}

/** Why the model's action must become a page, or null when the cross-check passes. */
export function crossCheck(model: Diagnosis, runbook: Diagnosis | undefined): string | null {
  if (model.recommendation === 'none') {
    // "Nothing to do" silences the page, so it needs the runbook's agreement too.
    if (!runbook) return 'the runbook cross-check could not run';
    return runbook.recommendation === 'none' ? null : `the model sees nothing to do, but the runbook finds: ${runbook.summary}`;
  }
  if (!isAction(model.recommendation)) return null;
  if (!runbook) return 'the runbook cross-check could not run';
  if (!runbook.restartCanHelp && RESTART_USELESS.includes(runbook.category)) {
    return `the runbook finds ${runbook.category} (${runbook.summary}), which a restart cannot fix`;
  }
  if (!model.restartCanHelp) return 'the model itself says a restart cannot help';
  if (RESTART_USELESS.includes(model.category)) return `the model's own category ${model.category} is not fixed by a restart`;
  return null;
}

export function withRunbookFallback(primary: Diagnoser | undefined, runbook: Diagnoser): Diagnoser {
  return {
    async diagnose(incident: Incident, evidence: Evidence, options?: DiagnoseOptions): Promise<Diagnosis> {
      if (!primary) {
        const d = await runbook.diagnose(incident, evidence, options);
        return { ...d, fallbackReason: 'no model configured (no API key); runbook rules only' };
      }
      // The runbook is local and deterministic; run it first so the cross-check never waits on it.
      let rb: Diagnosis | undefined;
      let rbError: unknown;
      try {
        rb = await runbook.diagnose(incident, evidence, options);
      } catch (err) {
        rbError = err;
      }

      let model: Diagnosis;
      try {
        model = await primary.diagnose(incident, evidence, options);
      } catch (err) {
        if (!rb) throw rbError;
        return { ...rb, ...spentOn(err), fallbackReason: `model diagnosis unavailable, runbook used: ${describe(err)}` };
      }

      const why = crossCheck(model, rb);
      if (why === null) return model;
      return {
        ...model,
        recommendation: 'page',
        restartCanHelp: false,
        fallbackReason: `model recommended ${model.recommendation}, downgraded to page: ${why}`,
      };
    },
  };
}
