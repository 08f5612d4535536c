import type { HealerConfig } from '../config/config.js';
import { handleApprovalRequest, type ApprovalHttpRequest, type ApprovalHttpResponse } from '../approval/http.js';
import { runbookDiagnoser } from '../diagnose/runbook.js';
import type { KillSwitch, Notifier, VerificationScheduler } from '../ports/index.js';
import type { Metrics } from '../ports/metrics.js';
import { actingDeps } from './acting.js';
import { perCluster } from './clusters.js';

/**
 * The approve endpoint's wiring, used by the Lambda handler (functions/approve.ts) and the local
 * run: each approval acts on its own cluster's deps (its name is signed with the plan); the
 * default cluster's serve only what is no cluster's: the preview, refusals, rejections and their
 * pages. The approved diagnosis is replayed, never redone: no model client here.
 */
export function approvalEntry(
  config: HealerConfig,
  make: { metrics?: Metrics; notifier?: Notifier; verifications?: VerificationScheduler; killSwitch?: KillSwitch } = {},
): (request: ApprovalHttpRequest) => Promise<ApprovalHttpResponse> {
  const forCluster = perCluster(config, (own) => actingDeps(own, { ...make, diagnoser: () => runbookDiagnoser }));
  return async (request) => {
    const resolved = await forCluster(config.clusterName);
    return handleApprovalRequest(request, { ...resolved, forCluster });
  };
}
