import type { ContainerEvidence, Diagnosis, Evidence, Incident, ObjectRef } from '../domain/types.js';
import type { Diagnoser } from '../ports/index.js';
import { isBadReleaseShape } from '../evidence/workload.js';

/**
 * Deterministic diagnosis from known patterns (docs/scenarios.md). Works with no model,
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
  return pinnedToChain(runbookRules(incident, evidence), evidence);
}

/** The target as the evidence's owner chain has it, uid included: the plan refuses an object replaced since the diagnosis. */
function pinnedToChain(diagnosis: Diagnosis, evidence: Evidence): Diagnosis {
  const t = diagnosis.target;
  if (!t) return diagnosis;
  const found = evidence.ownerChain.find((o) => o.kind === t.kind && o.name === t.name && (o.namespace ?? '') === (t.namespace ?? o.namespace ?? ''));
  return found?.uid ? { ...diagnosis, target: { ...t, uid: found.uid } } : diagnosis;
}

function runbookRules(incident: Incident, evidence: Evidence): Diagnosis {
  const where = evidence.subject.namespace ? `${evidence.subject.namespace}/${evidence.subject.name}` : evidence.subject.name;
  // An alert no rule maps: the runbook has no knowledge of what it means, so it never proposes an
  // action (policy's known-symptom rule denies one anyway). Paged with what was seen, even when
  // the subject is gone: the alert may be about exactly that.
  if (incident.symptom === 'Unknown') return diagnoseUnknown(incident, evidence, where);
  if (incident.subject.kind !== 'Pod' && !evidence.exists) return gone(where, incident.subject.kind);
  if (incident.subject.kind === 'Deployment') return diagnoseDeployment(incident, evidence, where);
  if (incident.subject.kind === 'Job') return diagnoseJob(incident, evidence, where);
  if (incident.subject.kind === 'Node') return diagnoseNode(incident, evidence, where);
  if (incident.subject.kind !== 'Pod') {
    // StatefulSets, DaemonSets, HPAs and volumes have no automated fix: a human looks.
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

/** Facts of the evidence, one short line each, for a page the runbook cannot interpret. */
export function evidenceLines(evidence: Evidence): string[] {
  if (!evidence.exists) return [`${evidence.subject.kind} not found`];
  const lines: string[] = [];
  if (evidence.phase) lines.push(`phase ${evidence.phase}${evidence.podReady === undefined ? '' : evidence.podReady ? ', Ready' : ', not Ready'}`);
  for (const c of evidence.containers.slice(0, 3)) {
    const term = c.lastTermination;
    lines.push(`container ${c.name}: ${c.ready ? 'ready' : 'not ready'}, ${c.restartCount} restarts${c.waitingReason ? `, waiting ${c.waitingReason}` : ''}${term ? `, last terminated ${term.reason ?? '?'} (exit ${term.exitCode ?? '?'})` : ''}`);
  }
  const w = evidence.workload;
  if (w) lines.push(`${w.kind} ${w.name}: ${w.availableReplicas}/${w.desiredReplicas} available${w.paused ? ', paused' : ''}`);
  const job = evidence.job;
  if (job) {
    const finished = job.conditions.map((c) => c.type).join(', ');
    lines.push(`Job ${job.name}: active ${job.active}, succeeded ${job.succeeded}, failed ${job.failed}, running ${job.runningSeconds ?? '?'} s${finished ? `, ${finished}` : ''}${job.suspended ? ', suspended' : ''}`);
  }
  const node = evidence.node;
  if (node) {
    const ready = node.conditions.find((c) => c.type === 'Ready');
    lines.push(`Node ${node.name}: Ready=${ready?.status ?? 'unknown'}${ready?.reason ? ` (${ready.reason})` : ''}${node.unschedulable ? ', cordoned' : ''}`);
  }
  if (evidence.ownerChain.length > 1) lines.push(`owners: ${evidence.ownerChain.slice(1).map((o) => `${o.kind}/${o.name}`).join(' → ')}`);
  for (const e of evidence.events.filter((x) => x.type === 'Warning').slice(0, 3)) lines.push(`event ${e.reason} x${e.count} on ${e.object ?? 'the subject'}`);
  for (const gap of evidence.gaps.slice(0, 3)) lines.push(`not read: ${gap}`);
  return lines;
}

/** An alert the healer does not know: a page with what was seen, never an action. */
function diagnoseUnknown(incident: Incident, evidence: Evidence, where: string): Diagnosis {
  const alert = incident.alertname ? `alert ${incident.alertname}` : 'an alert';
  const seen = evidenceLines(evidence).slice(0, 10);
  return pageOnly({
    summary: `${alert} on ${incident.subject.kind} ${where}: no runbook rule knows this alert`,
    // The page shows the root cause: what the cluster shows goes there too, not only in the citations.
    rootCause: `The healer does not know what this alert means, so it never acts on it; a human should look. What the cluster shows: ${seen.join('; ') || 'nothing read'}.`,
    category: 'unknown',
    evidenceCited: [`${alert} is not mapped to a symptom`, ...seen],
  }, 0.5);
}

function gone(where: string, kind: string): Diagnosis {
  return {
    diagnoser: 'runbook',
    summary: `${kind} ${where} no longer exists`,
    rootCause: `The ${kind} was deleted or replaced before the healer looked at it.`,
    category: 'already-healthy',
    confidence: 0.9,
    restartCanHelp: false,
    recommendation: 'none',
    evidenceCited: [`${kind} not found`],
  };
}

const healthy = (summary: string, cited: string): Diagnosis => ({
  diagnoser: 'runbook',
  summary,
  rootCause: 'The symptom cleared before the healer acted.',
  category: 'already-healthy',
  confidence: 0.9,
  restartCanHelp: false,
  recommendation: 'none',
  evidenceCited: [cited],
});

const count = (states: Readonly<Record<string, number>>, keys: readonly string[]) => keys.reduce((n, k) => n + (states[k] ?? 0), 0);

/**
 * Deployments: saturation is scaled (when no autoscaler owns the count); zero-available replicas
 * after a transient failure are rolled; anything a restart repeats (OOM, image, config, a bad
 * release, a paused rollout) is paged.
 */
function diagnoseDeployment(incident: Incident, evidence: Evidence, where: string): Diagnosis {
  const w = evidence.workload;
  const target: ObjectRef = { kind: 'Deployment', name: evidence.subject.name, namespace: evidence.subject.namespace };
  if (!w) {
    return pageOnly({ summary: `Deployment ${where}: status unknown`, rootCause: `The Deployment's status could not be read (${evidence.gaps.join('; ') || 'no detail'}).`, category: 'unknown', evidenceCited: [] }, 0.5);
  }
  const status = `${w.availableReplicas}/${w.desiredReplicas} available`;
  if (incident.symptom === 'WorkloadSaturated') {
    const hpa = evidence.governance?.hpa;
    if (hpa) {
      return pageOnly({
        summary: `Deployment ${where} is saturated and HorizontalPodAutoscaler ${hpa.name} owns its replica count (${hpa.currentReplicas}/${hpa.maxReplicas})`,
        rootCause: 'Scaling the Deployment by hand would be undone by the autoscaler at its next sync; its bounds or the workload need a human.',
        category: 'unknown',
        evidenceCited: [`hpa ${hpa.name}: current ${hpa.currentReplicas}, max ${hpa.maxReplicas}`],
      }, 0.9);
    }
    if (w.desiredReplicas === 0) {
      return pageOnly({ summary: `Deployment ${where} is saturated but scaled to zero`, rootCause: 'Zero replicas is a decision someone made; the healer does not start a workload that was switched off. A human should look.', category: 'unknown', evidenceCited: [status, 'spec.replicas=0'] }, 0.8);
    }
    if (w.availableReplicas < w.desiredReplicas) {
      return pageOnly({ summary: `Deployment ${where} is saturated but not all replicas are available (${status})`, rootCause: 'Adding replicas does not help while existing ones are failing; a human should look.', category: 'unknown', evidenceCited: [status] }, 0.7);
    }
    return {
      diagnoser: 'runbook',
      summary: `Deployment ${where} is saturated with every replica available (${status}) and no autoscaler`,
      rootCause: 'Load exceeds what the current replicas serve; one more replica adds capacity within the configured bounds.',
      category: 'unknown',
      confidence: 0.75,
      restartCanHelp: true,
      recommendation: 'scale-deployment',
      target,
      parameters: { replicas: w.desiredReplicas + 1 },
      evidenceCited: [status, `alert ${incident.alertname ?? incident.symptom}`],
    };
  }
  if (w.desiredReplicas === 0 || w.availableReplicas >= w.desiredReplicas) return healthy(`Deployment ${where} has every replica available (${status})`, status);
  if (w.paused) return pageOnly({ summary: `Deployment ${where} is paused (${status})`, rootCause: 'Its rollout is held on purpose; a human resumes it.', category: 'unknown', evidenceCited: ['spec.paused'] }, 0.8);
  const states = w.podStates;
  if (count(states, ['terminated:OOMKilled']) > 0) {
    return pageOnly({ summary: `Deployment ${where}: pods are OOMKilled (${status})`, rootCause: 'Containers exceed their memory limit; restarting repeats it. A limit or code change needs a human.', category: 'oom', evidenceCited: [`${states['terminated:OOMKilled'] ?? 0} pod(s) last terminated OOMKilled`] }, 0.95);
  }
  const imagePull = count(states, ['waiting:ImagePullBackOff', 'waiting:ErrImagePull', 'waiting:InvalidImageName']);
  if (imagePull > 0) {
    return pageOnly({ summary: `Deployment ${where}: images cannot be pulled (${status})`, rootCause: 'The image reference or registry credentials are wrong; no restart pulls a missing image.', category: 'image-pull', evidenceCited: [`${imagePull} pod(s) waiting on an image pull`] }, 0.95);
  }
  const config = count(states, ['waiting:CreateContainerConfigError', 'waiting:CreateContainerError']);
  if (config > 0) {
    return pageOnly({ summary: `Deployment ${where}: container config error (${status})`, rootCause: 'A referenced Secret/ConfigMap or key is missing; restarting cannot create it.', category: 'config-error', evidenceCited: [`${config} pod(s) with a container config error`] }, 0.95);
  }
  const logs = evidence.containers.map((c) => c.previousLogTail ?? '').join('\n');
  if (isBadReleaseShape(evidence.rollout) || CONFIG_LOG.test(logs) || w.conditions.some((c) => c.reason === 'ProgressDeadlineExceeded')) {
    return pageOnly({
      summary: `Deployment ${where}: the release does not come up (${status})`,
      rootCause: `A new revision or its configuration fails; a restart repeats it. ${evidence.rollout?.changes.length ? `Changed: ${evidence.rollout.changes.join('; ')}. ` : ''}Rollback needs human approval.`,
      category: 'bad-release',
      evidenceCited: [status, ...(evidence.rollout?.changes ?? []).slice(0, 5)],
    }, 0.85);
  }
  if (TRANSIENT_LOG.test(logs)) {
    return {
      diagnoser: 'runbook',
      summary: `Deployment ${where}: replicas unavailable after dependency connection failures (${status})`,
      rootCause: 'Its pods failed to reach a dependency; fresh pods usually recover once it is back. A rolling restart replaces them while the Deployment\'s own surge limits hold.',
      category: 'transient-crash',
      confidence: 0.8,
      restartCanHelp: true,
      recommendation: 'rollout-restart',
      target,
      evidenceCited: [status, 'previous logs of a pod show a connection failure'],
    };
  }
  return pageOnly({ summary: `Deployment ${where}: replicas unavailable with no known pattern (${status})`, rootCause: 'No runbook rule matches; a human should look.', category: 'unknown', evidenceCited: [status, ...Object.entries(states).slice(0, 4).map(([k, v]) => `${v}x ${k}`)] }, 0.5);
}

/** Jobs: one still running far past its deadline or the stuck threshold is deleted; a failed one pages. */
function diagnoseJob(incident: Incident, evidence: Evidence, where: string): Diagnosis {
  const job = evidence.job;
  if (!job) return pageOnly({ summary: `Job ${where}: status unknown`, rootCause: 'The Job\'s status could not be read.', category: 'unknown', evidenceCited: [] }, 0.5);
  const finished = job.conditions.find((c) => c.type === 'Complete' || c.type === 'Failed');
  const logs = evidence.containers.map((c) => `${c.currentLogTail ?? ''}\n${c.previousLogTail ?? ''}`).join('\n');
  if (incident.symptom === 'JobFailed' || finished?.type === 'Failed') {
    const dependency = TRANSIENT_LOG.test(logs) || /unreachable|could not resolve|no such host|name resolution/i.test(logs);
    return pageOnly({
      summary: `Job ${where} failed (${finished?.reason ?? `${job.failed} failed pod(s)`})`,
      rootCause: dependency
        ? 'Its pods could not reach a dependency; re-running now would likely fail the same way. A human decides when to re-run.'
        : 'The Job\'s pods failed; a human should read the logs and decide whether to re-run.',
      category: dependency ? 'transient-crash' : 'unknown',
      evidenceCited: [`failed=${job.failed}`, ...(finished?.reason ? [`condition Failed: ${finished.reason}`] : [])],
    }, 0.85);
  }
  if (finished) return healthy(`Job ${where} has finished (${finished.type})`, `condition ${finished.type}`);
  if (job.suspended) return pageOnly({ summary: `Job ${where} is suspended`, rootCause: 'A suspended Job is held on purpose.', category: 'unknown', evidenceCited: ['spec.suspend'] }, 0.8);
  if (job.active === 0) return pageOnly({ summary: `Job ${where} is not complete but has no active pods`, rootCause: 'No runbook rule matches; a human should look.', category: 'unknown', evidenceCited: ['active=0'] }, 0.5);
  const running = job.runningSeconds;
  const pastDeadline = job.activeDeadlineSeconds !== undefined && running !== undefined && running > job.activeDeadlineSeconds;
  return {
    diagnoser: 'runbook',
    summary: `Job ${where} is stuck: ${job.active} pod(s) active for ${running ?? '?'} s${pastDeadline ? `, past its activeDeadlineSeconds ${job.activeDeadlineSeconds ?? ''}` : ''}`,
    rootCause: 'The run makes no progress; deleting the Job (background propagation) stops it and frees its pods. A CronJob starts the next run on schedule.',
    category: 'unknown',
    confidence: pastDeadline ? 0.9 : 0.8,
    restartCanHelp: true,
    recommendation: 'delete-job',
    target: { kind: 'Job', name: job.name, namespace: evidence.subject.namespace },
    evidenceCited: [`active=${job.active}`, `running ${running ?? '?'} s`, ...(pastDeadline ? ['past activeDeadlineSeconds'] : [])],
  };
}

/** Nodes: a NotReady node is cordoned (no drain) so nothing new lands there; pressure pages. */
function diagnoseNode(incident: Incident, evidence: Evidence, where: string): Diagnosis {
  const node = evidence.node;
  if (!node) return pageOnly({ summary: `Node ${where}: status unknown`, rootCause: 'The node could not be read.', category: 'unknown', evidenceCited: [] }, 0.5);
  const ready = node.conditions.find((c) => c.type === 'Ready');
  const readyLine = `Ready=${ready?.status ?? 'unknown'}${ready?.reason ? ` (${ready.reason})` : ''}`;
  if (incident.symptom !== 'NodeNotReady') {
    const pressure = node.conditions.filter((c) => c.type.endsWith('Pressure') && c.status === 'True').map((c) => c.type);
    return pageOnly({ summary: `Node ${where}: ${pressure.join(', ') || incident.symptom}`, rootCause: 'Node pressure needs capacity or workload changes; the kubelet is already evicting as it must.', category: 'unknown', evidenceCited: [readyLine, ...pressure] }, 0.8);
  }
  if (ready?.status === 'True') return healthy(`Node ${where} is Ready again`, readyLine);
  if (node.unschedulable) return pageOnly({ summary: `Node ${where} is NotReady and already cordoned`, rootCause: 'Nothing further is safe to automate; a human decides on drain or replacement.', category: 'unknown', evidenceCited: [readyLine, 'spec.unschedulable'] }, 0.9);
  return {
    diagnoser: 'runbook',
    summary: `Node ${where} is not Ready (${readyLine})`,
    rootCause: 'The kubelet stopped reporting or reports the node unhealthy; cordoning keeps new pods off it. Draining or replacing it is a human\'s call.',
    category: 'unknown',
    confidence: 0.9,
    restartCanHelp: true,
    recommendation: 'cordon-node',
    target: { kind: 'Node', name: node.name },
    evidenceCited: [readyLine],
  };
}

export const runbookDiagnoser: Diagnoser = {
  diagnose: (incident, evidence) => Promise.resolve(diagnoseByRunbook(incident, evidence)),
};
