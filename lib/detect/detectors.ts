/**
 * One small detector per symptom (k8sgpt's analyzer idea, without its I/O): each reads one
 * snapshot and returns findings as data. Values compared against are what the kubelet and the
 * controllers write (container waiting reasons, Job/Deployment/Node condition types and reasons).
 */
import type { ObjectRef, Symptom } from '../domain/types.js';
import { isConditionTrue } from '../domain/kube-objects.js';
import type { Detector, DetectorSettings, FactValue, Finding } from './finding.js';
import { topOwner } from './owners.js';
import { condition, facts, isObject, items, k8sName, k8sUid, names, num, secondsSince, str, text, timeMs } from './read.js';
import type { ClusterSnapshot, ContainerInfo, ContainerTermination, ControllerRef, EventInfo, NodeInfo, PodInfo } from './snapshot.js';

/** Event reasons some detector reads; the snapshot mapping keeps only these. */
export const DETECTOR_EVENT_REASONS: ReadonlySet<string> = new Set(['FailedScheduling']);

const IMAGE_PULL_REASONS: ReadonlySet<string> = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
const NODE_PRESSURES = ['MemoryPressure', 'DiskPressure', 'PIDPressure'] as const;

function ref(kind: string, object: { name?: unknown; namespace?: unknown; uid?: unknown }, namespaced: boolean): ObjectRef | undefined {
  const name = k8sName(object.name);
  const namespace = k8sName(object.namespace);
  if (!name || (namespaced && !namespace)) return undefined;
  const uid = k8sUid(object.uid);
  return { kind, name, ...(namespaced ? { namespace } : {}), ...(uid ? { uid } : {}) };
}

function finding(
  snapshot: ClusterSnapshot,
  detector: string,
  symptom: Symptom,
  subject: ObjectRef,
  controller: ControllerRef | undefined,
  reason: string,
  detail: Record<string, FactValue | undefined>,
): Finding {
  const owner = topOwner(snapshot, subject.namespace, controller);
  return { detector, symptom, subject, ...(owner ? { owner } : {}), reason, facts: facts(detail) };
}

const termination = (value: ContainerTermination | undefined): ContainerTermination | undefined => (isObject(value) ? value : undefined);

// ---------------------------------------------------------------------------------------------
// Container-level symptoms: one finding per pod, naming every matching container.

/** Pods being deleted are going away (PodTerminating covers the stuck ones); succeeded pods are done. */
const podIsLive = (pod: PodInfo) => !str(pod.deletionTimestamp) && pod.phase !== 'Succeeded';

function containerDetector(
  id: string,
  symptom: Symptom,
  matches: (container: ContainerInfo, settings: DetectorSettings, nowMs: number) => boolean,
  describe: (matched: readonly ContainerInfo[]) => { reason: string; facts: Record<string, FactValue | undefined> },
): Detector {
  return (snapshot, settings, nowMs) => {
    const found: Finding[] = [];
    for (const pod of items(snapshot.pods)) {
      const subject = ref('Pod', pod, true);
      if (!subject || !podIsLive(pod)) continue;
      const matched = items(pod.containers).filter((c) => matches(c, settings, nowMs));
      if (matched.length === 0) continue;
      const worst = matched.reduce((a, b) => ((num(b.restartCount) ?? 0) > (num(a.restartCount) ?? 0) ? b : a));
      const { reason, facts: detail } = describe(matched);
      found.push(
        finding(snapshot, id, symptom, subject, pod.controller, reason, {
          containers: names(matched.map((c) => k8sName(c.name))),
          initContainer: matched.some((c) => c.init === true),
          restarts: num(worst.restartCount),
          nodeName: k8sName(pod.nodeName),
          ...detail,
        }),
      );
    }
    return found;
  };
}

const lastOomKilled = (c: ContainerInfo) => termination(c.lastTerminated)?.reason === 'OOMKilled';
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const containerList = (matched: readonly ContainerInfo[]) => names(matched.map((c) => k8sName(c.name)), 3) || 'unnamed';

/** Waiting in CrashLoopBackOff. An OOMKilled last run is reported as OOMKilled instead: restarting does not fix it. */
export const crashLoopBackOff: Detector = containerDetector(
  'crash-loop-back-off',
  'CrashLoopBackOff',
  (c, settings) => c.waitingReason === 'CrashLoopBackOff' && (num(c.restartCount) ?? 0) >= settings.crashLoopMinRestarts && !lastOomKilled(c),
  (matched) => {
    const last = termination(matched[0]?.lastTerminated);
    return {
      reason: `${plural(matched.length, 'container')} in CrashLoopBackOff (${containerList(matched)})`,
      facts: { lastExitCode: num(last?.exitCode), lastTerminationReason: text(last?.reason) },
    };
  },
);

/**
 * Killed for memory: now (restartPolicy Never pods) or in the last run. lastState keeps an old
 * OOMKilled forever, so a container that is Ready again counts only while the kill is recent.
 */
export const oomKilled: Detector = containerDetector(
  'oom-killed',
  'OOMKilled',
  (c, settings, nowMs) => {
    if (termination(c.terminated)?.reason === 'OOMKilled') return true;
    if (!lastOomKilled(c)) return false;
    if (c.ready !== true || str(c.waitingReason)) return true;
    const finished = timeMs(termination(c.lastTerminated)?.finishedAt);
    return finished === undefined || nowMs - finished <= settings.oomRecentSeconds * 1000;
  },
  (matched) => {
    const first = matched[0];
    const kill = termination(first?.terminated)?.reason === 'OOMKilled' ? termination(first?.terminated) : termination(first?.lastTerminated);
    return {
      reason: `${plural(matched.length, 'container')} OOMKilled (${containerList(matched)})`,
      facts: { exitCode: num(kill?.exitCode), killedAt: text(kill?.finishedAt), waitingReason: text(first?.waitingReason) },
    };
  },
);

export const imagePull: Detector = containerDetector(
  'image-pull',
  'ImagePullBackOff',
  (c) => typeof c.waitingReason === 'string' && IMAGE_PULL_REASONS.has(c.waitingReason),
  (matched) => ({
    reason: `${plural(matched.length, 'container')} cannot pull the image (${containerList(matched)}: ${text(matched[0]?.waitingReason) ?? ''})`,
    facts: { waitingReason: text(matched[0]?.waitingReason), image: text(matched[0]?.image) },
  }),
);

export const createContainerConfigError: Detector = containerDetector(
  'create-container-config-error',
  'CreateContainerConfigError',
  (c) => c.waitingReason === 'CreateContainerConfigError',
  (matched) => ({
    reason: `${plural(matched.length, 'container')} cannot be created: missing or invalid Secret/ConfigMap reference (${containerList(matched)})`,
    facts: {},
  }),
);

// ---------------------------------------------------------------------------------------------
// Deployments

/**
 * Nothing available although replicas are wanted, for longer than the threshold, or the rollout
 * hit its progress deadline (Progressing=False, ProgressDeadlineExceeded). A stalled rollout that
 * still serves from the old ReplicaSet is DeploymentRolloutStuck, not unavailable.
 */
export const deploymentUnavailable: Detector = (snapshot, settings, nowMs) => {
  const found: Finding[] = [];
  for (const deployment of items(snapshot.deployments)) {
    const subject = ref('Deployment', deployment, true);
    if (!subject) continue;
    const desired = num(deployment.replicas) ?? 1;
    const available = num(deployment.availableReplicas) ?? 0;
    const progressing = condition(deployment.conditions, 'Progressing');
    const deadlineExceeded = progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded';
    const availableCondition = condition(deployment.conditions, 'Available');
    const since = availableCondition?.status === 'False' ? timeMs(availableCondition.lastTransitionTime) : timeMs(deployment.creationTimestamp);
    const detail = {
      desired,
      available,
      ready: num(deployment.readyReplicas),
      updated: num(deployment.updatedReplicas),
      paused: deployment.paused === true,
      progressDeadlineExceeded: deadlineExceeded,
      unavailableSeconds: since === undefined ? undefined : secondsSince(since, nowMs),
    };
    if (desired > 0 && available === 0) {
      const longEnough = since !== undefined && nowMs - since >= settings.deploymentUnavailableSeconds * 1000;
      if (deadlineExceeded || longEnough) {
        found.push(finding(snapshot, 'deployment-unavailable', 'DeploymentUnavailable', subject, deployment.controller,
          `0 of ${desired} replicas available${deadlineExceeded ? ', progress deadline exceeded' : ''}`, detail));
      }
    } else if (desired > 0 && deadlineExceeded) {
      found.push(finding(snapshot, 'deployment-unavailable', 'DeploymentRolloutStuck', subject, deployment.controller,
        `rollout exceeded its progress deadline (${available} of ${desired} available)`, detail));
    }
  }
  return found;
};

// ---------------------------------------------------------------------------------------------
// Jobs

const FINISHED_CONDITIONS = ['Complete', 'Failed', 'FailureTarget', 'SuccessCriteriaMet'];

/** Running far longer than expected, or past its own activeDeadlineSeconds (then the controller is not ending it). */
export const jobStuck: Detector = (snapshot, settings, nowMs) => {
  const found: Finding[] = [];
  for (const job of items(snapshot.jobs)) {
    const subject = ref('Job', job, true);
    if (!subject || job.suspend === true || str(job.completionTime)) continue;
    if (items(job.conditions).some((c) => c.status === 'True' && FINISHED_CONDITIONS.includes(c.type))) continue;
    const started = timeMs(job.startTime);
    if (started === undefined) continue;
    const running = secondsSince(started, nowMs);
    const deadline = num(job.activeDeadlineSeconds);
    const pastDeadline = deadline !== undefined && running >= deadline + settings.jobDeadlineGraceSeconds;
    if (!pastDeadline && running < settings.jobStuckSeconds) continue;
    found.push(finding(snapshot, 'job-stuck', 'JobStuck', subject, job.controller,
      pastDeadline ? `active ${running}s, past its activeDeadlineSeconds of ${deadline}` : `active ${running}s, over the ${settings.jobStuckSeconds}s threshold`,
      { runningSeconds: running, activeDeadlineSeconds: deadline, pastDeadline, active: num(job.active), succeeded: num(job.succeeded), failed: num(job.failed) }));
  }
  return found;
};

/**
 * Failed=True (BackoffLimitExceeded, DeadlineExceeded, PodFailurePolicy, MaxFailedIndexesExceeded),
 * or FailureTarget=True while the controller is still terminating its pods.
 */
export const jobFailed: Detector = (snapshot, settings, nowMs) => {
  const found: Finding[] = [];
  for (const job of items(snapshot.jobs)) {
    const subject = ref('Job', job, true);
    if (!subject) continue;
    const failedCondition = [condition(job.conditions, 'Failed'), condition(job.conditions, 'FailureTarget')].find((c) => c?.status === 'True');
    if (!failedCondition) continue;
    const at = timeMs(failedCondition.lastTransitionTime);
    if (at !== undefined && nowMs - at > settings.jobFailedRecentSeconds * 1000) continue;
    const reason = text(failedCondition.reason);
    found.push(finding(snapshot, 'job-failed', 'JobFailed', subject, job.controller, `failed${reason ? `: ${reason}` : ''}`, {
      condition: failedCondition.type,
      conditionReason: reason,
      failedSecondsAgo: at === undefined ? undefined : secondsSince(at, nowMs),
      failed: num(job.failed),
      succeeded: num(job.succeeded),
      backoffLimit: num(job.backoffLimit),
    }));
  }
  return found;
};

// ---------------------------------------------------------------------------------------------
// Pods

function nodeReadyStatus(snapshot: ClusterSnapshot, nodeName: string | undefined): string | undefined {
  // Without a node list nothing can be said; with one, a missing node means it was deleted.
  const nodes: unknown = snapshot.nodes;
  if (!nodeName || !Array.isArray(nodes)) return undefined;
  const node = items(snapshot.nodes).find((n) => n.name === nodeName);
  return node ? (text(condition(node.conditions, 'Ready')?.status) ?? 'unreported') : 'absent';
}

/**
 * Still present well after its deletionTimestamp. The API server sets that timestamp to request
 * time + grace period, so the grace is already in it; the threshold is slack on top.
 */
export const podTerminating: Detector = (snapshot, settings, nowMs) => {
  const found: Finding[] = [];
  for (const pod of items(snapshot.pods)) {
    const subject = ref('Pod', pod, true);
    const deletion = timeMs(pod.deletionTimestamp);
    if (!subject || deletion === undefined) continue;
    const overdue = secondsSince(deletion, nowMs);
    if (overdue < settings.podTerminatingSeconds) continue;
    const finalizers = Array.isArray(pod.finalizers) ? pod.finalizers.filter((f): f is string => typeof f === 'string') : [];
    const nodeName = k8sName(pod.nodeName);
    const nodeReady = nodeReadyStatus(snapshot, nodeName);
    found.push(finding(snapshot, 'pod-terminating', 'PodTerminating', subject, pod.controller,
      `terminating ${overdue}s past its deletion deadline${nodeReady && nodeReady !== 'True' ? ` (node ${nodeReady === 'absent' ? 'gone' : `Ready=${nodeReady}`})` : ''}`,
      { overdueSeconds: overdue, gracePeriodSeconds: num(pod.deletionGracePeriodSeconds), finalizers: names(finalizers), nodeName, nodeReady }));
  }
  return found;
};

const eventKey = (namespace: string, name: string) => `${namespace}\u0000${name}`;

function failedSchedulingEvents(snapshot: ClusterSnapshot): Map<string, EventInfo[]> {
  const byPod = new Map<string, EventInfo[]>();
  for (const event of items(snapshot.events)) {
    const involved = isObject(event.involvedObject) ? event.involvedObject : undefined;
    const namespace = str(involved?.namespace);
    const name = str(involved?.name);
    if (event.type !== 'Warning' || event.reason !== 'FailedScheduling' || involved?.kind !== 'Pod' || !namespace || !name) continue;
    const k = eventKey(namespace, name);
    const list = byPod.get(k);
    if (list) list.push(event);
    else byPod.set(k, [event]);
  }
  return byPod;
}

/**
 * Not placed on any node for longer than the threshold: PodScheduled=False with reason
 * Unschedulable (SchedulingGated is deliberate, not a fault), or FailedScheduling events about it.
 */
export const podUnschedulable: Detector = (snapshot, settings, nowMs) => {
  const found: Finding[] = [];
  const events = failedSchedulingEvents(snapshot);
  for (const pod of items(snapshot.pods)) {
    const subject = ref('Pod', pod, true);
    if (!subject?.namespace || str(pod.nodeName) || str(pod.deletionTimestamp)) continue;
    if (pod.phase !== undefined && pod.phase !== 'Pending') continue;
    const scheduled = condition(pod.conditions, 'PodScheduled');
    const viaCondition = scheduled?.status === 'False' && scheduled.reason === 'Unschedulable';
    // Events name pods, not incarnations: a same-named replacement pod must not inherit them.
    const podEvents = (events.get(eventKey(subject.namespace, subject.name)) ?? []).filter((e) => {
      const uid = str(e.involvedObject.uid);
      return !uid || !subject.uid || uid === subject.uid;
    });
    if (!viaCondition && podEvents.length === 0) continue;
    const eventTimes = podEvents.map((e) => timeMs(e.firstTimestamp) ?? timeMs(e.lastTimestamp)).filter((t): t is number => t !== undefined);
    const since = (viaCondition ? timeMs(scheduled.lastTransitionTime) : undefined) ?? (eventTimes.length > 0 ? eventTimes.reduce((a, b) => Math.min(a, b)) : undefined);
    if (since === undefined || nowMs - since < settings.unschedulableSeconds * 1000) continue;
    const pending = secondsSince(since, nowMs);
    found.push(finding(snapshot, 'pod-unschedulable', 'PodUnschedulable', subject, pod.controller, `unschedulable for ${pending}s`, {
      unschedulableSeconds: pending,
      podScheduledReason: viaCondition ? 'Unschedulable' : undefined,
      failedSchedulingEvents: podEvents.reduce((sum, e) => sum + (num(e.count) ?? 1), 0),
    }));
  }
  return found;
};

/** Failed with reason Evicted (node-pressure eviction by the kubelet); such pods linger, so only recent ones count. */
export const podEvicted: Detector = (snapshot, settings, nowMs) => {
  const found: Finding[] = [];
  for (const pod of items(snapshot.pods)) {
    const subject = ref('Pod', pod, true);
    if (!subject || pod.phase !== 'Failed' || pod.reason !== 'Evicted') continue;
    const times = [
      ...items(pod.conditions).map((c) => timeMs(c.lastTransitionTime)),
      ...items(pod.containers).map((c) => timeMs(termination(c.terminated)?.finishedAt)),
    ].filter((t): t is number => t !== undefined);
    const at = times.length > 0 ? times.reduce((a, b) => Math.max(a, b)) : undefined;
    if (at !== undefined && nowMs - at > settings.evictedRecentSeconds * 1000) continue;
    const disruption = condition(pod.conditions, 'DisruptionTarget');
    found.push(finding(snapshot, 'pod-evicted', 'PodEvicted', subject, pod.controller, `evicted from ${k8sName(pod.nodeName) ?? 'its node'}`, {
      nodeName: k8sName(pod.nodeName),
      evictedSecondsAgo: at === undefined ? undefined : secondsSince(at, nowMs),
      disruptionReason: disruption?.status === 'True' ? text(disruption.reason) : undefined,
    }));
  }
  return found;
};

// ---------------------------------------------------------------------------------------------
// Nodes

const isReady = (node: NodeInfo) => isConditionTrue(items(node.conditions), 'Ready');

/** Ready=False (kubelet reports a problem) or Unknown (the kubelet stopped posting status) for longer than the threshold. */
export const nodeNotReady: Detector = (snapshot, settings, nowMs) => {
  const found: Finding[] = [];
  const nodes = items(snapshot.nodes);
  // What a cordon would leave: policy must never cordon the last schedulable Ready node.
  const schedulableReady = nodes.filter((n) => isReady(n) && n.unschedulable !== true).length;
  for (const node of nodes) {
    const subject = ref('Node', node, false);
    const ready = condition(node.conditions, 'Ready');
    if (!subject || !ready || (ready.status !== 'False' && ready.status !== 'Unknown')) continue;
    const since = timeMs(ready.lastTransitionTime);
    if (since === undefined || nowMs - since < settings.nodeNotReadySeconds * 1000) continue;
    const seconds = secondsSince(since, nowMs);
    found.push(finding(snapshot, 'node-not-ready', 'NodeNotReady', subject, undefined, `Ready=${ready.status} for ${seconds}s${ready.reason ? ` (${text(ready.reason)})` : ''}`, {
      readyStatus: ready.status,
      readyReason: text(ready.reason),
      notReadySeconds: seconds,
      cordoned: node.unschedulable === true,
      podsOnNode: items(snapshot.pods).filter((p) => p.nodeName === subject.name).length,
      schedulableReadyNodes: schedulableReady,
    }));
  }
  return found;
};

/** MemoryPressure, DiskPressure or PIDPressure True: the kubelet is evicting or refusing pods. */
export const nodePressure: Detector = (snapshot, settings, nowMs) => {
  const found: Finding[] = [];
  for (const node of items(snapshot.nodes)) {
    const subject = ref('Node', node, false);
    if (!subject) continue;
    const active = NODE_PRESSURES.filter((type) => {
      const c = condition(node.conditions, type);
      if (c?.status !== 'True') return false;
      if (settings.nodePressureSeconds <= 0) return true;
      const since = timeMs(c.lastTransitionTime);
      return since !== undefined && nowMs - since >= settings.nodePressureSeconds * 1000;
    });
    if (active.length === 0) continue;
    found.push(finding(snapshot, 'node-pressure', 'NodePressure', subject, undefined, `${active.join(', ')} on the node`, {
      pressures: active.join(','),
      memoryPressure: active.includes('MemoryPressure'),
      diskPressure: active.includes('DiskPressure'),
      pidPressure: active.includes('PIDPressure'),
      ready: isReady(node),
    }));
  }
  return found;
};

/** Every detector in the order detectAll runs them. */
export const DETECTORS: readonly (readonly [string, Detector])[] = Object.freeze([
  ['node-not-ready', nodeNotReady],
  ['node-pressure', nodePressure],
  ['deployment-unavailable', deploymentUnavailable],
  ['crash-loop-back-off', crashLoopBackOff],
  ['oom-killed', oomKilled],
  ['image-pull', imagePull],
  ['create-container-config-error', createContainerConfigError],
  ['job-stuck', jobStuck],
  ['job-failed', jobFailed],
  ['pod-terminating', podTerminating],
  ['pod-unschedulable', podUnschedulable],
  ['pod-evicted', podEvicted],
] as const);
