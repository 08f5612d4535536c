import type { ContainerEvidence, Diagnosis, Evidence, Incident, ObjectRef } from '../domain/types.js';
import type { Diagnoser } from '../ports/index.js';
import { isBadReleaseShape } from '../evidence/workload.js';

/**
 * Deterministic diagnosis from known patterns (shared/design/SCENARIOS.md). Works with no model,
 * and serves as the cross-check on a model's verdict: where it knows a restart cannot help, it
 * says so with restartCanHelp=false.
 */

const TRANSIENT_LOG = /connection refused|ECONNREFUSED|ECONNRESET|timed? ?out|temporar(il)?y unavailable|no route to host|could not connect|dial tcp|EAI_AGAIN|503 Service Unavailable|too many connections/i;
const CONFIG_LOG = /parse error|invalid config|configuration error|yaml:|unexpected token|syntax error|missing required|unknown field|undefined variable|no such file or directory/i;
const POD_STATE_SYMPTOMS = new Set<string>(['CrashLoopBackOff', 'OOMKilled', 'ImagePullBackOff', 'CreateContainerConfigError', 'PodNotReady', 'ContainerWaiting']);
const IMAGE_PULL = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull']);
const CONFIG_WAIT = new Set(['CreateContainerConfigError', 'CreateContainerError']);

function worstContainer(evidence: Evidence): ContainerEvidence | undefined {
  return [...evidence.containers].sort((a, b) => Number(a.ready) - Number(b.ready) || b.restartCount - a.restartCount)[0];
}

function pageOnly(
  base: Pick<Diagnosis, 'summary' | 'rootCause' | 'category' | 'evidenceCited'>,
  confidence = 0.8,
): Diagnosis {
  return { diagnoser: 'runbook', ...base, confidence, restartCanHelp: false, recommendation: 'page' };
}

export function diagnoseByRunbook(incident: Incident, evidence: Evidence): Diagnosis {
  const where = evidence.subject.namespace ? `${evidence.subject.namespace}/${evidence.subject.name}` : evidence.subject.name;
  if (incident.subject.kind !== 'Pod') {
    // Only pod-level fixes exist so far; anything about a workload, Job or Node goes to a human.
    return pageOnly({
      summary: `${incident.symptom} on ${incident.subject.kind} ${where}`,
      rootCause: `The healer has no automated handling for ${incident.subject.kind} incidents yet; a human should look.`,
      category: 'unknown',
      evidenceCited: [`alert ${incident.alertname ?? incident.symptom}`],
    }, 0.5);
  }
  if (!evidence.exists) {
    return {
      diagnoser: 'runbook',
      summary: `${where} no longer exists`,
      rootCause: 'The pod was replaced or deleted before the healer looked at it.',
      category: 'already-healthy',
      confidence: 0.9,
      restartCanHelp: false,
      recommendation: 'none',
      evidenceCited: ['pod not found'],
    };
  }
  const container = worstContainer(evidence);
  // "Ready again" answers only symptoms about readiness or crashing; a saturation or other alert
  // on a Ready pod is not cleared by the pod being Ready.
  if (POD_STATE_SYMPTOMS.has(incident.symptom) && evidence.podReady === true && evidence.containers.every((c) => c.ready && !c.waitingReason)) {
    return {
      diagnoser: 'runbook',
      summary: `${where} is Ready again`,
      rootCause: 'The symptom cleared before the healer acted.',
      category: 'already-healthy',
      confidence: 0.9,
      restartCanHelp: false,
      recommendation: 'none',
      evidenceCited: ['pod Ready'],
    };
  }
  if (!container) {
    return pageOnly({ summary: `${where}: no container status`, rootCause: 'No container status to reason about.', category: 'unknown', evidenceCited: [] }, 0.5);
  }
  const term = container.lastTermination;
  const cite = (s: string) => `container ${container.name}: ${s}`;

  if (term?.reason === 'OOMKilled') {
    return pageOnly({
      summary: `${where}: container ${container.name} is OOMKilled (${container.restartCount} restarts)`,
      rootCause: 'The container exceeds its memory limit; restarting repeats the kill. A limit or code change needs a human.',
      category: 'oom',
      evidenceCited: [cite('lastState.terminated.reason=OOMKilled')],
    }, 0.95);
  }
  if (container.waitingReason && IMAGE_PULL.has(container.waitingReason)) {
    return pageOnly({
      summary: `${where}: image cannot be pulled (${container.waitingReason})`,
      rootCause: 'The image reference or registry credentials are wrong; no restart pulls a missing image.',
      category: 'image-pull',
      evidenceCited: [cite(`waiting.reason=${container.waitingReason}`)],
    }, 0.95);
  }
  if (container.waitingReason && CONFIG_WAIT.has(container.waitingReason)) {
    return pageOnly({
      summary: `${where}: container config error (${container.waitingReason})`,
      rootCause: 'A referenced Secret/ConfigMap or key is missing; restarting cannot create it.',
      category: 'config-error',
      evidenceCited: [cite(`waiting.reason=${container.waitingReason}`)],
    }, 0.95);
  }
  const crashLooping = container.waitingReason === 'CrashLoopBackOff' || (term !== undefined && container.restartCount > 0);
  if (crashLooping) {
    const logs = container.previousLogTail ?? '';
    if (CONFIG_LOG.test(logs)) {
      return pageOnly({
        summary: `${where}: crash loop with a configuration/parse error in the previous logs`,
        rootCause: 'The release or its configuration is broken; restarts will fail the same way. Rollback needs human approval.',
        category: 'bad-release',
        evidenceCited: [cite('previous logs show a configuration/parse error')],
      }, 0.85);
    }
    if (isBadReleaseShape(evidence.rollout)) {
      const rollout = evidence.rollout;
      return pageOnly({
        summary: `${where}: the newest revision ${rollout?.newestRevision ?? '?'} of ${rollout?.deployment ?? '?'} crash-loops while an older one still serves`,
        rootCause: `The release is bad; restarting repeats it. Changed in this revision: ${rollout?.changes.join('; ') || 'nothing visible in the template'}. Rollback needs human approval.`,
        category: 'bad-release',
        evidenceCited: ['rollout: newest ReplicaSet has no ready replicas, an older one has', ...(rollout?.changes ?? []).slice(0, 5)],
      }, 0.85);
    }
    if (TRANSIENT_LOG.test(logs) && term?.exitCode !== 0) {
      const target: ObjectRef = { kind: 'Pod', name: evidence.subject.name, namespace: evidence.subject.namespace };
      return {
        diagnoser: 'runbook',
        summary: `${where}: crash loop after a dependency connection failure (exit ${term?.exitCode ?? '?'})`,
        rootCause: 'The previous container failed to reach a dependency; a fresh pod usually recovers once the dependency is back.',
        category: 'transient-crash',
        confidence: 0.8,
        restartCanHelp: true,
        recommendation: 'evict-pod',
        target,
        evidenceCited: [cite('previous logs show a connection failure'), cite(`exit code ${term?.exitCode ?? 'unknown'}`)],
      };
    }
    return pageOnly({
      summary: `${where}: crash loop with no known pattern (exit ${term?.exitCode ?? '?'}, ${container.restartCount} restarts)`,
      rootCause: evidence.gaps.length > 0
        ? `Unknown; evidence incomplete (${evidence.gaps.join('; ')}).`
        : 'Unknown; the previous logs match no runbook pattern.',
      category: 'unknown',
      evidenceCited: [cite(`restartCount=${container.restartCount}`)],
    }, 0.5);
  }
  return pageOnly({
    summary: `${where}: ${incident.symptom} with no runbook rule`,
    rootCause: 'No runbook rule matches; a human should look.',
    category: 'unknown',
    evidenceCited: [],
  }, 0.5);
}

export const runbookDiagnoser: Diagnoser = {
  diagnose: (incident, evidence) => Promise.resolve(diagnoseByRunbook(incident, evidence)),
};
