import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { CoreV1Event, V1Deployment, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import {
  DETECTORS,
  DEFAULT_DETECTOR_SETTINGS,
  detectAll,
  groupByOwner,
  runDetectors,
  withDefaults,
  type ClusterSnapshot,
  type Finding,
} from '../../lib/detect/index.js';
import { toEventInfo, toSnapshot } from '../../lib/detect/from-kubernetes.js';
import {
  aCronJob,
  aDeployment,
  aJob,
  aNode,
  anEvictedPod,
  anUnschedulablePod,
  aPod,
  ago,
  configErrorContainer,
  crashLoopingContainer,
  failedJob,
  failedSchedulingEvent,
  healthySnapshot,
  imagePullContainer,
  jobPod,
  NOW,
  oomKilledContainer,
  runningContainer,
  snapshotOf,
  stormSnapshot,
} from '../fixtures/snapshots.js';

const detect = (snapshot: ClusterSnapshot, settings = {}) => detectAll(snapshot, settings, NOW);
const ofSymptom = (findings: Finding[], symptom: Finding['symptom']) => findings.filter((f) => f.symptom === symptom);
const NODE_1 = 'ip-10-0-1-17.eu-west-1.compute.internal';

describe('detectAll on a healthy cluster', () => {
  it('finds nothing, including among the look-alikes (history, in-progress, deliberate states)', () => {
    // Prepare
    const snapshot = healthySnapshot();
    // Act
    const report = runDetectors(snapshot, {}, NOW);
    // Assess
    expect(report.findings).toEqual([]);
    expect(report.errors).toEqual([]);
  });

  it('finds nothing in an empty or unread cluster', () => {
    expect(detect({})).toEqual([]);
    expect(detect({ pods: [], deployments: [], replicaSets: [], jobs: [], workloads: [], nodes: [], events: [] })).toEqual([]);
  });
});

describe('container detectors', () => {
  it('CrashLoopBackOff: one finding per pod, owned by the Deployment through its ReplicaSet', () => {
    // Prepare
    const web = aDeployment({ name: 'web', container: (i) => (i === 0 ? crashLoopingContainer() : runningContainer()) });
    const crashing = web.pods[0]!;
    // Act
    const findings = detect(snapshotOf(web));
    // Assess: two of three still serve, so the Deployment itself is not unavailable
    expect(findings).toEqual([
      {
        detector: 'crash-loop-back-off',
        symptom: 'CrashLoopBackOff',
        subject: { kind: 'Pod', name: crashing.name, namespace: 'shop', uid: crashing.uid },
        owner: { kind: 'Deployment', name: 'web', uid: web.deployment.uid },
        reason: '1 container in CrashLoopBackOff (app)',
        facts: { containers: 'app', initContainer: false, restarts: 7, nodeName: NODE_1, lastExitCode: 1, lastTerminationReason: 'Error' },
      },
    ]);
  });

  it('CrashLoopBackOff: names every crashing container of a pod, init containers included', () => {
    // Prepare
    const pod = aPod({
      name: 'worker-0',
      containers: [crashLoopingContainer({ name: 'migrate', init: true, restartCount: 3 }), crashLoopingContainer({ name: 'app', restartCount: 9 })],
    });
    // Act
    const [finding, ...rest] = detect({ pods: [pod] });
    // Assess
    expect(rest).toEqual([]);
    expect(finding?.facts).toMatchObject({ containers: 'migrate,app', initContainer: true, restarts: 9 });
    expect(finding?.owner).toBeUndefined();
  });

  it('CrashLoopBackOff: respects crashLoopMinRestarts', () => {
    const snapshot = { pods: [aPod({ name: 'web-1', containers: [crashLoopingContainer({ restartCount: 2 })] })] };
    expect(detect(snapshot, { crashLoopMinRestarts: 3 })).toEqual([]);
    expect(detect(snapshot, { crashLoopMinRestarts: 2 })).toHaveLength(1);
  });

  it('OOMKilled: a crash loop whose last run was OOM-killed is reported as OOMKilled only', () => {
    // Prepare
    const web = aDeployment({ name: 'web', container: (i) => (i === 0 ? oomKilledContainer() : runningContainer()) });
    // Act
    const findings = detect(snapshotOf(web));
    // Assess
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      detector: 'oom-killed',
      symptom: 'OOMKilled',
      owner: { kind: 'Deployment', name: 'web' },
      facts: { exitCode: 137, killedAt: ago(90), waitingReason: 'CrashLoopBackOff', restarts: 4 },
    });
  });

  it('OOMKilled: a Job pod (restartPolicy Never) terminated by OOM, owned through Job to CronJob', () => {
    // Prepare
    const cron = aCronJob('nightly-report');
    const job = aJob({ cronJob: cron, active: 1 });
    const pod = jobPod(job, {
      phase: 'Failed',
      containers: [{ name: 'report', ready: false, restartCount: 0, terminated: { reason: 'OOMKilled', exitCode: 137, finishedAt: ago(60) } }],
    });
    // Act
    const findings = detect({ pods: [pod], jobs: [job], workloads: [cron] });
    // Assess
    expect(findings).toEqual([expect.objectContaining({ symptom: 'OOMKilled', subject: expect.objectContaining({ name: pod.name }) as unknown, owner: { kind: 'CronJob', name: 'nightly-report', uid: cron.uid } })]);
  });

  it('OOMKilled: a container Ready again counts only while the kill is recent', () => {
    const recovered = (finishedAt: string) => ({ pods: [aPod({ name: 'web-1', containers: [runningContainer({ restartCount: 1, lastTerminated: { reason: 'OOMKilled', exitCode: 137, finishedAt } })] })] });
    expect(ofSymptom(detect(recovered(ago(10 * 60))), 'OOMKilled')).toHaveLength(1);
    expect(detect(recovered(ago(2 * 3600)))).toEqual([]);
    expect(detect(recovered(ago(2 * 3600)), { oomRecentSeconds: 3 * 3600 })).toHaveLength(1);
  });

  it.each(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName'] as const)('image pull: %s', (reason) => {
    // Prepare
    const web = aDeployment({ name: 'web', replicas: 1, container: () => imagePullContainer(reason) });
    // Act
    const findings = ofSymptom(detect(snapshotOf(web)), 'ImagePullBackOff');
    // Assess
    expect(findings).toEqual([
      expect.objectContaining({
        detector: 'image-pull',
        owner: { kind: 'Deployment', name: 'web', uid: web.deployment.uid },
        facts: expect.objectContaining({ waitingReason: reason, image: 'registry.example.com/shop/web:1.4.3-typo' }) as unknown,
      }),
    ]);
  });

  it('CreateContainerConfigError', () => {
    // Prepare
    const web = aDeployment({ name: 'web', replicas: 2, container: () => configErrorContainer() });
    // Act
    const findings = ofSymptom(detect(snapshotOf(web)), 'CreateContainerConfigError');
    // Assess
    expect(findings.map((f) => f.subject.name)).toEqual(web.pods.map((p) => p.name).sort());
    expect(findings.every((f) => f.owner?.name === 'web' && f.detector === 'create-container-config-error')).toBe(true);
  });

  it('ignores pods that are being deleted or have succeeded', () => {
    const snapshot = {
      pods: [
        aPod({ name: 'a', deletionTimestamp: ago(-20), containers: [crashLoopingContainer()] }),
        aPod({ name: 'b', phase: 'Succeeded', containers: [{ name: 'app', terminated: { reason: 'Completed', exitCode: 0 } }] }),
      ],
    };
    expect(detect(snapshot)).toEqual([]);
  });
});

describe('Deployment detector', () => {
  it('desired > 0 and none available past the threshold: DeploymentUnavailable', () => {
    // Prepare: every replica crash-loops; Available=False since 10 minutes
    const web = aDeployment({ name: 'web', container: () => crashLoopingContainer() });
    // Act
    const findings = ofSymptom(detect(snapshotOf(web)), 'DeploymentUnavailable');
    // Assess
    expect(findings).toEqual([
      {
        detector: 'deployment-unavailable',
        symptom: 'DeploymentUnavailable',
        subject: { kind: 'Deployment', name: 'web', namespace: 'shop', uid: web.deployment.uid },
        reason: '0 of 3 replicas available',
        facts: { desired: 3, available: 0, updated: 3, paused: false, progressDeadlineExceeded: false, unavailableSeconds: 600 },
      },
    ]);
  });

  it('not before the threshold', () => {
    const web = aDeployment({ name: 'web', container: () => crashLoopingContainer() });
    expect(ofSymptom(detect(snapshotOf(web), { deploymentUnavailableSeconds: 900 }), 'DeploymentUnavailable')).toEqual([]);
  });

  it('ProgressDeadlineExceeded with nothing available is unavailable at once; with old replicas serving, a stuck rollout', () => {
    // Prepare
    const deadline = { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', lastTransitionTime: ago(30) };
    const down = aDeployment({ name: 'web', container: () => crashLoopingContainer() });
    const downNow = { ...down, deployment: { ...down.deployment, conditions: [{ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', lastTransitionTime: ago(30) }, deadline] } };
    const serving = aDeployment({ name: 'api', namespace: 'payments', deployment: { availableReplicas: 3, readyReplicas: 3, updatedReplicas: 1 } });
    const servingStuck = { ...serving, deployment: { ...serving.deployment, conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', lastTransitionTime: ago(86400) }, deadline] } };
    // Act
    const findings = detect(snapshotOf(downNow, servingStuck)).filter((f) => f.detector === 'deployment-unavailable');
    // Assess
    expect(findings.map((f) => [f.symptom, f.subject.name, f.facts.progressDeadlineExceeded])).toEqual([
      ['DeploymentRolloutStuck', 'api', true],
      ['DeploymentUnavailable', 'web', true],
    ]);
    expect(findings[0]?.reason).toBe('rollout exceeded its progress deadline (3 of 3 available)');
  });

  it('a Deployment scaled to zero is not unavailable', () => {
    expect(detect(snapshotOf(aDeployment({ name: 'idle', replicas: 0 })))).toEqual([]);
  });
});

describe('Job detectors', () => {
  it('a Job active past the stuck threshold, owned by its CronJob', () => {
    // Prepare
    const cron = aCronJob('etl');
    const job = aJob({ cronJob: cron, active: 1, startTime: ago(8 * 3600) });
    // Act
    const findings = detect({ jobs: [job], workloads: [cron] });
    // Assess
    expect(findings).toEqual([
      {
        detector: 'job-stuck',
        symptom: 'JobStuck',
        subject: { kind: 'Job', name: job.name, namespace: 'batch', uid: job.uid },
        owner: { kind: 'CronJob', name: 'etl', uid: cron.uid },
        reason: 'active 28800s, over the 21600s threshold',
        facts: { runningSeconds: 28800, pastDeadline: false, active: 1 },
      },
    ]);
  });

  it('a Job still active past its own activeDeadlineSeconds (+ grace) is stuck early', () => {
    // Prepare
    const job = aJob({ active: 1, startTime: ago(1800), activeDeadlineSeconds: 600 });
    // Act
    const findings = detect({ jobs: [job] });
    // Assess
    expect(findings).toEqual([expect.objectContaining({ symptom: 'JobStuck', facts: expect.objectContaining({ pastDeadline: true, activeDeadlineSeconds: 600, runningSeconds: 1800 }) as unknown })]);
  });

  it('a Job running within its expectations, suspended or finished is not stuck', () => {
    const jobs = [
      aJob({ active: 1, startTime: ago(2 * 3600) }),
      aJob({ name: 'within-deadline', active: 1, startTime: ago(800), activeDeadlineSeconds: 600 }),
      aJob({ name: 'paused', suspend: true, active: 0, startTime: ago(10 * 3600) }),
      aJob({ name: 'done', startTime: ago(10 * 3600), completionTime: ago(9 * 3600), conditions: [{ type: 'Complete', status: 'True', reason: 'CompletionsReached' }] }),
    ];
    expect(detect({ jobs })).toEqual([]);
  });

  it.each(['BackoffLimitExceeded', 'DeadlineExceeded'] as const)('a failed Job: %s', (reason) => {
    // Prepare
    const cron = aCronJob('nightly-report');
    const job = failedJob(reason, 20 * 60, { cronJob: cron });
    // Act
    const findings = detect({ jobs: [job], workloads: [cron] });
    // Assess
    expect(findings).toEqual([
      {
        detector: 'job-failed',
        symptom: 'JobFailed',
        subject: { kind: 'Job', name: job.name, namespace: 'batch', uid: job.uid },
        owner: { kind: 'CronJob', name: 'nightly-report', uid: cron.uid },
        reason: `failed: ${reason}`,
        facts: expect.objectContaining({ condition: 'Failed', conditionReason: reason, failedSecondsAgo: 1200, backoffLimit: 6 }) as unknown,
      },
    ]);
  });

  it('FailureTarget alone (pods still terminating) already counts as failed', () => {
    const job = aJob({ active: 0, conditions: [{ type: 'FailureTarget', status: 'True', reason: 'PodFailurePolicy', lastTransitionTime: ago(5) }] });
    expect(detect({ jobs: [job] })).toEqual([expect.objectContaining({ symptom: 'JobFailed', facts: expect.objectContaining({ condition: 'FailureTarget', conditionReason: 'PodFailurePolicy' }) as unknown })]);
  });
});

describe('pod lifecycle detectors', () => {
  it('a pod terminating long past its deletion deadline, on a node that stopped reporting', () => {
    // Prepare: deleted 20m30s ago with 30s grace, so the deadline was 20 minutes ago
    const web = aDeployment({ name: 'web', replicas: 1, podOverrides: { nodeName: 'ip-10-0-9-9.eu-west-1.compute.internal', deletionTimestamp: ago(1200), deletionGracePeriodSeconds: 30 } });
    const snapshot = { ...snapshotOf(web), nodes: [aNode('ip-10-0-9-9.eu-west-1.compute.internal', { state: 'NodeStatusUnknown', since: ago(40) })] };
    // Act
    const findings = ofSymptom(detect(snapshot), 'PodTerminating');
    // Assess
    expect(findings).toEqual([
      expect.objectContaining({
        detector: 'pod-terminating',
        owner: { kind: 'Deployment', name: 'web', uid: web.deployment.uid },
        reason: 'terminating 1200s past its deletion deadline (node Ready=Unknown)',
        facts: { overdueSeconds: 1200, gracePeriodSeconds: 30, finalizers: '', nodeName: 'ip-10-0-9-9.eu-west-1.compute.internal', nodeReady: 'Unknown' },
      }),
    ]);
  });

  it('the grace period is inside deletionTimestamp: a pod with a long grace is not stuck while it lasts', () => {
    // Deleted 20 minutes ago with a 1h grace period: deletionTimestamp is 40 minutes ahead
    const pod = aPod({ name: 'db-0', deletionTimestamp: ago(-40 * 60), deletionGracePeriodSeconds: 3600 });
    expect(detect({ pods: [pod] })).toEqual([]);
    expect(detect({ pods: [{ ...pod, deletionTimestamp: ago(120) }] })).toEqual([]);
  });

  it('a finalizer holding a pod is named; a deleted node reads as gone', () => {
    const pod = aPod({ name: 'web-1', deletionTimestamp: ago(3600), finalizers: ['example.com/drain-connections'] });
    const [finding] = detect({ pods: [pod], nodes: [] });
    expect(finding?.facts).toMatchObject({ finalizers: 'example.com/drain-connections', nodeReady: 'absent' });
    expect(finding?.reason).toContain('node gone');
  });

  it('unschedulable past the threshold (PodScheduled=False/Unschedulable), with its FailedScheduling events counted', () => {
    // Prepare
    const web = aDeployment({ name: 'web', replicas: 1 });
    const pending = anUnschedulablePod({ name: `${web.replicaSet.name}-xk9p2`, controller: { kind: 'ReplicaSet', name: web.replicaSet.name, uid: web.replicaSet.uid ?? '' } });
    const snapshot = { ...snapshotOf(web), pods: [...web.pods, pending], events: [failedSchedulingEvent(pending)] };
    // Act
    const findings = detect(snapshot);
    // Assess
    expect(findings).toEqual([
      {
        detector: 'pod-unschedulable',
        symptom: 'PodUnschedulable',
        subject: { kind: 'Pod', name: pending.name, namespace: 'shop', uid: pending.uid },
        owner: { kind: 'Deployment', name: 'web', uid: web.deployment.uid },
        reason: 'unschedulable for 900s',
        facts: { unschedulableSeconds: 900, podScheduledReason: 'Unschedulable', failedSchedulingEvents: 12 },
      },
    ]);
  });

  it('unschedulable from FailedScheduling events alone; events about an earlier pod of the same name do not count', () => {
    // Prepare
    const pod: ReturnType<typeof aPod> = { ...anUnschedulablePod({ name: 'cache-0' }), conditions: [] };
    const ownEvent = failedSchedulingEvent(pod, 600, 4);
    const predecessorEvent = { ...failedSchedulingEvent(pod, 7200, 40), involvedObject: { ...ownEvent.involvedObject, uid: 'uid-of-the-deleted-cache-0' } };
    // Act
    const withOwn = detect({ pods: [pod], events: [predecessorEvent, ownEvent] });
    const withPredecessorOnly = detect({ pods: [pod], events: [predecessorEvent] });
    // Assess
    expect(withOwn).toEqual([expect.objectContaining({ symptom: 'PodUnschedulable', facts: { unschedulableSeconds: 600, failedSchedulingEvents: 4 } })]);
    expect(withPredecessorOnly).toEqual([]);
  });

  it('not yet: pending for less than the threshold, or deliberately gated', () => {
    const fresh = anUnschedulablePod({ name: 'web-new' }, ago(60));
    const gated = { ...anUnschedulablePod({ name: 'gated' }), conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated', lastTransitionTime: ago(3600) }] };
    expect(detect({ pods: [fresh, gated] })).toEqual([]);
  });

  it('a recently evicted pod, owned by its Deployment; old evictions are history', () => {
    // Prepare
    const web = aDeployment({ name: 'web', replicas: 1 });
    const evicted = anEvictedPod({ name: `${web.replicaSet.name}-q7w2z`, controller: { kind: 'ReplicaSet', name: web.replicaSet.name } });
    const old = anEvictedPod({ name: `${web.replicaSet.name}-t4v8h`, controller: { kind: 'ReplicaSet', name: web.replicaSet.name } }, ago(5 * 3600));
    // Act
    const findings = detect({ ...snapshotOf(web), pods: [...web.pods, evicted, old] });
    // Assess
    expect(findings).toEqual([
      {
        detector: 'pod-evicted',
        symptom: 'PodEvicted',
        subject: { kind: 'Pod', name: evicted.name, namespace: 'shop', uid: evicted.uid },
        owner: { kind: 'Deployment', name: 'web', uid: web.deployment.uid },
        reason: `evicted from ${NODE_1}`,
        facts: { nodeName: NODE_1, evictedSecondsAgo: 600, disruptionReason: 'TerminationByKubelet' },
      },
    ]);
  });
});

describe('node detectors', () => {
  it('NodeStatusUnknown past the threshold, with what a cordon would leave', () => {
    // Prepare
    const lost = aNode('ip-10-0-2-33.eu-west-1.compute.internal', { state: 'NodeStatusUnknown', since: ago(600) });
    const snapshot = {
      nodes: [aNode(NODE_1), lost, aNode('ip-10-0-3-54.eu-west-1.compute.internal', { unschedulable: true })],
      pods: [aPod({ name: 'web-1', nodeName: lost.name }), aPod({ name: 'web-2', nodeName: lost.name }), aPod({ name: 'web-3' })],
    };
    // Act
    const findings = detect(snapshot);
    // Assess
    expect(findings).toEqual([
      {
        detector: 'node-not-ready',
        symptom: 'NodeNotReady',
        subject: { kind: 'Node', name: lost.name, uid: lost.uid },
        reason: 'Ready=Unknown for 600s (NodeStatusUnknown)',
        facts: { readyStatus: 'Unknown', readyReason: 'NodeStatusUnknown', notReadySeconds: 600, cordoned: false, podsOnNode: 2, schedulableReadyNodes: 1 },
      },
    ]);
  });

  it('Ready=False from the kubelet counts too; a brief blip does not', () => {
    const notReady = aNode('n1', { state: 'KubeletNotReady', since: ago(400) });
    const blip = aNode('n2', { state: 'KubeletNotReady', since: ago(30) });
    expect(detect({ nodes: [notReady, blip] }).map((f) => [f.subject.name, f.facts.readyStatus])).toEqual([['n1', 'False']]);
  });

  it('pressure conditions: one finding per node listing every pressure', () => {
    // Prepare
    const node = aNode(NODE_1, { pressure: ['MemoryPressure', 'DiskPressure'] });
    // Act
    const findings = detect({ nodes: [node] });
    // Assess
    expect(findings).toEqual([
      {
        detector: 'node-pressure',
        symptom: 'NodePressure',
        subject: { kind: 'Node', name: NODE_1, uid: node.uid },
        reason: 'MemoryPressure, DiskPressure on the node',
        facts: { pressures: 'MemoryPressure,DiskPressure', memoryPressure: true, diskPressure: true, pidPressure: false, ready: true },
      },
    ]);
    expect(detect({ nodes: [node] }, { nodePressureSeconds: 600 })).toEqual([]);
  });
});

describe('owner resolution', () => {
  const rs = { name: 'web-7d4b9c', namespace: 'shop', uid: 'rs-uid', controller: { kind: 'Deployment', name: 'web', uid: 'dep-uid' } };
  const deployment = { name: 'web', namespace: 'shop', uid: 'dep-uid', replicas: 1, availableReplicas: 1 };
  const crashing = (controller: { kind: string; name: string; uid?: string } | undefined) =>
    aPod({ name: 'web-7d4b9c-abcde', controller, containers: [crashLoopingContainer()] });

  it.each([
    ['the Deployment through its ReplicaSet', { kind: 'ReplicaSet', name: 'web-7d4b9c', uid: 'rs-uid' }, [rs], [deployment], { kind: 'Deployment', name: 'web', uid: 'dep-uid' }],
    ['the ReplicaSet when its Deployment is not in the snapshot', { kind: 'ReplicaSet', name: 'web-7d4b9c', uid: 'rs-uid' }, [rs], [], { kind: 'ReplicaSet', name: 'web-7d4b9c', uid: 'rs-uid' }],
    ['nothing when the reference is stale (same name, another uid)', { kind: 'ReplicaSet', name: 'web-7d4b9c', uid: 'old-rs-uid' }, [rs], [deployment], undefined],
    ['nothing for a bare pod', undefined, [rs], [deployment], undefined],
    ['nothing across namespaces', { kind: 'ReplicaSet', name: 'web-7d4b9c' }, [{ ...rs, namespace: 'other' }], [], undefined],
  ])('resolves %s', (_, controller, replicaSets, deployments, owner) => {
    // Act
    const [finding] = detect({ pods: [crashing(controller)], replicaSets, deployments });
    // Assess
    expect(finding?.owner).toEqual(owner);
  });

  it('stops on an ownership cycle', () => {
    const a = { name: 'a', namespace: 'shop', controller: { kind: 'ReplicaSet', name: 'b' } };
    const b = { name: 'b', namespace: 'shop', controller: { kind: 'ReplicaSet', name: 'a' } };
    const [finding] = detect({ pods: [crashing({ kind: 'ReplicaSet', name: 'a' })], replicaSets: [a, b] });
    expect(finding?.owner).toEqual({ kind: 'ReplicaSet', name: 'b' });
  });

  it('groups StatefulSet pods by the StatefulSet when the snapshot holds it', () => {
    const sts = { kind: 'StatefulSet', name: 'cache', namespace: 'shop', uid: 'sts-uid' };
    const pods = [0, 1, 2].map((i) => aPod({ name: `cache-${i}`, controller: { kind: 'StatefulSet', name: 'cache', uid: 'sts-uid' }, containers: [crashLoopingContainer()] }));
    const groups = groupByOwner(detect({ pods, workloads: [sts] }));
    expect(groups.map((g) => [g.owner.kind, g.owner.name, g.members.length])).toEqual([['StatefulSet', 'cache', 3]]);
  });
});

describe('groupByOwner', () => {
  it('the storm: 200 crash-looping pods across 4 Deployments group to 4 owners', () => {
    // Prepare
    const snapshot = stormSnapshot(4, 50);
    // Act
    const findings = detect(snapshot);
    const groups = groupByOwner(findings);
    // Assess
    const crashGroups = groups.filter((g) => g.symptom === 'CrashLoopBackOff');
    expect(ofSymptom(findings, 'CrashLoopBackOff')).toHaveLength(200);
    expect(crashGroups.map((g) => `${g.namespace}/${g.owner.kind}/${g.owner.name}:${g.members.length}`).sort()).toEqual([
      'payments/Deployment/svc-1:50',
      'payments/Deployment/svc-3:50',
      'shop/Deployment/svc-0:50',
      'shop/Deployment/svc-2:50',
    ]);
    expect(crashGroups.every((g) => g.ownerResolved && g.members.every((m) => m.kind === 'Pod' && m.namespace === g.namespace))).toBe(true);
    // The Deployments themselves are down too: one more group each, not one per pod.
    expect(groups.filter((g) => g.symptom === 'DeploymentUnavailable').map((g) => g.owner.name).sort()).toEqual(['svc-0', 'svc-1', 'svc-2', 'svc-3']);
    expect(groups).toHaveLength(8);
  });

  it('keys on namespace, owner and symptom; findings without an owner are their own group', () => {
    // Prepare
    const shop = aDeployment({ name: 'web', namespace: 'shop', replicas: 2, container: (i) => (i === 0 ? crashLoopingContainer() : oomKilledContainer()) });
    const staging = aDeployment({ name: 'web', namespace: 'staging', replicas: 1, container: () => crashLoopingContainer() });
    const bare = [aPod({ name: 'debug-1', containers: [crashLoopingContainer()] }), aPod({ name: 'debug-2', containers: [crashLoopingContainer()] })];
    const snapshot = { ...snapshotOf(shop, staging), pods: [...shop.pods, ...staging.pods, ...bare], nodes: [aNode('n1', { pressure: ['PIDPressure'] })] };
    // Act
    const groups = groupByOwner(detect(snapshot));
    // Assess
    expect(groups.map((g) => [g.namespace ?? '-', g.owner.kind, g.owner.name, g.symptom, g.members.length, g.ownerResolved])).toEqual([
      ['-', 'Node', 'n1', 'NodePressure', 1, false],
      ['shop', 'Deployment', 'web', 'DeploymentUnavailable', 1, false],
      ['staging', 'Deployment', 'web', 'DeploymentUnavailable', 1, false],
      ['shop', 'Pod', 'debug-1', 'CrashLoopBackOff', 1, false],
      ['shop', 'Pod', 'debug-2', 'CrashLoopBackOff', 1, false],
      ['shop', 'Deployment', 'web', 'CrashLoopBackOff', 1, true],
      ['staging', 'Deployment', 'web', 'CrashLoopBackOff', 1, true],
      ['shop', 'Deployment', 'web', 'OOMKilled', 1, true],
    ]);
  });
});

describe('detectAll', () => {
  it('orders findings by detector, then namespace, kind and name, whatever the list order', () => {
    // Prepare
    const snapshot = stormSnapshot(2, 5);
    const reversed: ClusterSnapshot = {
      ...snapshot,
      pods: [...(snapshot.pods ?? [])].reverse(),
      deployments: [...(snapshot.deployments ?? [])].reverse(),
      replicaSets: [...(snapshot.replicaSets ?? [])].reverse(),
    };
    // Act
    const a = detect(snapshot);
    const b = detect(reversed);
    // Assess
    expect(b).toEqual(a);
    expect(a.map((f) => f.detector)).toEqual([...Array<string>(2).fill('deployment-unavailable'), ...Array<string>(10).fill('crash-loop-back-off')]);
  });

  it('a detector that throws is reported; the others still run', () => {
    // Prepare: a snapshot whose Job list cannot be read
    const snapshot = { nodes: [aNode('n1', { state: 'KubeletNotReady', since: ago(3600) })] } as ClusterSnapshot;
    Object.defineProperty(snapshot, 'jobs', { get: () => { throw new Error('boom'); } });
    // Act
    const report = runDetectors(snapshot, {}, NOW);
    // Assess
    expect(report.errors).toEqual([{ detector: 'job-stuck', message: 'boom' }, { detector: 'job-failed', message: 'boom' }]);
    expect(report.findings.map((f) => f.symptom)).toEqual(['NodeNotReady']);
  });

  it('uses the defaults for settings not given or unusable', () => {
    const job = aJob({ active: 1, startTime: ago(DEFAULT_DETECTOR_SETTINGS.jobStuckSeconds + 1) });
    const young = aJob({ name: 'young', active: 1, startTime: ago(60) });
    expect(detect({ jobs: [job, young] }).map((f) => f.subject.name)).toEqual([job.name]);
    expect(detect({ jobs: [job] }, { jobStuckSeconds: DEFAULT_DETECTOR_SETTINGS.jobStuckSeconds + 60 })).toEqual([]);
    for (const unusable of [undefined, Number.NaN, -1, '60']) {
      expect(withDefaults({ jobStuckSeconds: unusable as never })).toEqual(DEFAULT_DETECTOR_SETTINGS);
      expect(detect({ jobs: [young] }, { jobStuckSeconds: unusable as never })).toEqual([]);
    }
  });
});

describe('toSnapshot from @kubernetes/client-node objects', () => {
  const at = (seconds: number) => new Date(NOW - seconds * 1000);
  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', uid: 'dep-uid', creationTimestamp: at(86400), generation: 4, labels: { app: 'web' } },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [{ name: 'app', image: 'web:1.4.2' }] } } },
    status: {
      observedGeneration: 4,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 1,
      availableReplicas: 1,
      unavailableReplicas: 1,
      conditions: [
        { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.', lastTransitionTime: at(600), lastUpdateTime: at(600) },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: 'ReplicaSet "web-7d4b9c" has successfully progressed.', lastTransitionTime: at(86400), lastUpdateTime: at(3600) },
      ],
    },
  };
  const replicaSet: V1ReplicaSet = {
    metadata: {
      name: 'web-7d4b9c',
      namespace: 'shop',
      uid: 'rs-uid',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'dep-uid', controller: true, blockOwnerDeletion: true }],
    },
    spec: { selector: { matchLabels: { app: 'web' } } },
  };
  const pod: V1Pod = {
    metadata: {
      name: 'web-7d4b9c-x2k8p',
      namespace: 'shop',
      uid: 'pod-uid',
      creationTimestamp: at(7200),
      labels: { app: 'web', 'pod-template-hash': '7d4b9c' },
      annotations: { 'example.com/secret-ish': 'token=abc' },
      ownerReferences: [
        { apiVersion: 'example.com/v1', kind: 'Audit', name: 'not-the-controller', uid: 'x' },
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9c', uid: 'rs-uid', controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: { nodeName: 'n1', containers: [{ name: 'app', image: 'web:1.4.2', env: [{ name: 'DB_PASSWORD', value: 'hunter2' }] }] },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [app]', lastTransitionTime: at(600) }],
      containerStatuses: [
        {
          name: 'app',
          image: 'web:1.4.2',
          imageID: 'docker.io/library/web@sha256:0f1e',
          ready: false,
          restartCount: 6,
          started: false,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s restarting failed container=app pod=web-7d4b9c-x2k8p_shop(pod-uid)' } },
          lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: at(100), finishedAt: at(95), containerID: 'containerd://abc' } },
        },
      ],
    },
  };

  it('keeps only the fields detectors read, as plain JSON data', () => {
    // Act
    const snapshot = toSnapshot({ pods: [pod], replicaSets: [replicaSet], deployments: [deployment] });
    // Assess
    expect(snapshot.pods).toEqual([
      {
        name: 'web-7d4b9c-x2k8p',
        namespace: 'shop',
        uid: 'pod-uid',
        creationTimestamp: new Date(NOW - 7200_000).toISOString(),
        controller: { kind: 'ReplicaSet', name: 'web-7d4b9c', uid: 'rs-uid' },
        phase: 'Running',
        nodeName: 'n1',
        conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: new Date(NOW - 600_000).toISOString() }],
        containers: [
          {
            name: 'app',
            image: 'web:1.4.2',
            ready: false,
            restartCount: 6,
            waitingReason: 'CrashLoopBackOff',
            lastTerminated: { reason: 'Error', exitCode: 1, finishedAt: new Date(NOW - 95_000).toISOString() },
          },
        ],
      },
    ]);
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
    expect(JSON.stringify(snapshot)).not.toMatch(/hunter2|token=abc|back-off 5m0s|not-the-controller/);
    expect(snapshot.nodes).toBeUndefined();
  });

  it('feeds the detectors end to end', () => {
    // Act
    const findings = detectAll(toSnapshot({ pods: [pod], replicaSets: [replicaSet], deployments: [deployment] }), {}, NOW);
    // Assess
    expect(findings).toEqual([expect.objectContaining({ symptom: 'CrashLoopBackOff', owner: { kind: 'Deployment', name: 'web', uid: 'dep-uid' } })]);
  });

  it('keeps only Warning events a detector reads, without their message; series counts win', () => {
    // Prepare
    const base: CoreV1Event = {
      metadata: { name: 'web-7d4b9c-x2k8p.17f3a', namespace: 'shop' },
      involvedObject: { kind: 'Pod', name: 'web-7d4b9c-x2k8p', namespace: 'shop', uid: 'pod-uid' },
      type: 'Warning',
      reason: 'FailedScheduling',
      message: '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.',
      reportingComponent: 'default-scheduler',
      eventTime: new Date(NOW - 900_000),
      series: { count: 14, lastObservedTime: new Date(NOW - 30_000) },
    };
    // Act / Assess
    expect(toEventInfo(base)).toEqual({
      type: 'Warning',
      reason: 'FailedScheduling',
      involvedObject: { kind: 'Pod', name: 'web-7d4b9c-x2k8p', namespace: 'shop', uid: 'pod-uid' },
      count: 14,
      firstTimestamp: new Date(NOW - 900_000).toISOString(),
      lastTimestamp: new Date(NOW - 30_000).toISOString(),
    });
    expect(toEventInfo({ ...base, type: 'Normal', reason: 'Scheduled' })).toBeUndefined();
    expect(toEventInfo({ ...base, reason: 'BackOff' })).toBeUndefined();
  });

  it('drops invalid dates and nameless objects instead of throwing', () => {
    const broken: V1Pod = { metadata: { name: 'p', namespace: 'shop', creationTimestamp: new Date(Number.NaN) }, status: {} };
    expect(toSnapshot({ pods: [broken, { metadata: {} }, {}] }).pods).toEqual([{ name: 'p', namespace: 'shop' }]);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over arbitrary, partial and malformed snapshots.

const NAMES = ['a', 'b', 'web', 'web-7d4b9c'] as const;
const NAMESPACES = ['shop', 'batch'] as const;
const KINDS = ['ReplicaSet', 'Deployment', 'Job', 'CronJob', 'StatefulSet', 'Pod'] as const;
const maybe = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 8, arbitrary }, { weight: 1, arbitrary: fc.anything() });
const partial = <T extends Record<string, fc.Arbitrary<unknown>>>(model: T) => fc.record(model, { requiredKeys: [] });
const time = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -86400, max: 10 * 86400 }).map((s) => ago(s)) },
  { weight: 1, arbitrary: fc.constantFrom('', 'yesterday', '2026-13-45T99:00:00Z') },
);
const controllerArb = partial({ kind: fc.constantFrom(...KINDS), name: fc.constantFrom(...NAMES), uid: fc.constantFrom('u1', 'u2') });
const conditionArb = partial({
  type: fc.constantFrom('Ready', 'Available', 'Progressing', 'PodScheduled', 'Failed', 'FailureTarget', 'Complete', 'MemoryPressure', 'DiskPressure', 'PIDPressure', 'DisruptionTarget'),
  status: fc.constantFrom('True', 'False', 'Unknown'),
  reason: fc.constantFrom('Unschedulable', 'ProgressDeadlineExceeded', 'BackoffLimitExceeded', 'KubeletNotReady', 'TerminationByKubelet'),
  lastTransitionTime: time,
});
const conditionsArb = maybe(fc.array(maybe(conditionArb), { maxLength: 4 }));
const terminationArb = partial({ reason: fc.constantFrom('OOMKilled', 'Error', 'Completed'), exitCode: fc.integer({ min: 0, max: 255 }), finishedAt: time });
const containerArb = partial({
  name: fc.constantFrom('app', 'sidecar'),
  init: fc.boolean(),
  image: fc.string({ maxLength: 300 }),
  ready: fc.boolean(),
  restartCount: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constant(Number.NaN)),
  waitingReason: fc.constantFrom('CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'CreateContainerConfigError', 'ContainerCreating'),
  terminated: maybe(terminationArb),
  lastTerminated: maybe(terminationArb),
});
const meta = {
  name: maybe(fc.constantFrom(...NAMES)),
  namespace: maybe(fc.constantFrom(...NAMESPACES)),
  uid: fc.constantFrom('u1', 'u2'),
  creationTimestamp: time,
  controller: maybe(controllerArb),
};
const count = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(-1));
const snapshotArb = partial({
  pods: maybe(fc.array(maybe(partial({
    ...meta,
    phase: fc.constantFrom('Pending', 'Running', 'Failed', 'Succeeded', 'Unknown'),
    reason: fc.constantFrom('Evicted', 'NodeLost'),
    nodeName: fc.constantFrom('n1', 'n2'),
    deletionTimestamp: time,
    deletionGracePeriodSeconds: fc.integer({ min: 0, max: 3600 }),
    finalizers: maybe(fc.array(fc.string(), { maxLength: 3 })),
    conditions: conditionsArb,
    containers: maybe(fc.array(maybe(containerArb), { maxLength: 3 })),
  })), { maxLength: 8 })),
  deployments: maybe(fc.array(maybe(partial({ ...meta, replicas: count, paused: fc.boolean(), availableReplicas: count, readyReplicas: count, updatedReplicas: count, conditions: conditionsArb })), { maxLength: 4 })),
  replicaSets: maybe(fc.array(maybe(partial(meta)), { maxLength: 4 })),
  jobs: maybe(fc.array(maybe(partial({ ...meta, activeDeadlineSeconds: fc.integer({ min: 0, max: 7200 }), suspend: fc.boolean(), active: count, failed: count, startTime: time, completionTime: time, conditions: conditionsArb })), { maxLength: 4 })),
  workloads: maybe(fc.array(maybe(partial({ ...meta, kind: fc.constantFrom(...KINDS) })), { maxLength: 4 })),
  nodes: maybe(fc.array(maybe(partial({ name: maybe(fc.constantFrom('n1', 'n2')), uid: fc.constantFrom('u1', 'u2'), unschedulable: fc.boolean(), conditions: conditionsArb })), { maxLength: 3 })),
  events: maybe(fc.array(maybe(partial({
    type: fc.constantFrom('Warning', 'Normal'),
    reason: fc.constantFrom('FailedScheduling', 'BackOff'),
    involvedObject: maybe(partial({ kind: fc.constantFrom('Pod', 'Node'), name: fc.constantFrom(...NAMES), namespace: fc.constantFrom(...NAMESPACES), uid: fc.constantFrom('u1', 'u2') })),
    count: count,
    firstTimestamp: time,
    lastTimestamp: time,
  })), { maxLength: 6 })),
}).map((value) => value as unknown as ClusterSnapshot);

const DNS_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

const arrayOf = (value: unknown): Record<string, unknown>[] =>
  Array.isArray(value) ? value.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null) : [];

function ownerPresent(snapshot: ClusterSnapshot, finding: Finding): boolean {
  const owner = finding.owner;
  if (!owner) return true;
  const lists: Record<string, unknown> = { ReplicaSet: snapshot.replicaSets, Deployment: snapshot.deployments, Job: snapshot.jobs };
  const candidates = owner.kind in lists ? arrayOf(lists[owner.kind]) : arrayOf(snapshot.workloads).filter((w) => w.kind === owner.kind);
  return candidates.some((o) => o.name === owner.name && o.namespace === finding.subject.namespace && (owner.uid === undefined || o.uid === owner.uid));
}

describe('properties', () => {
  it('no detector throws on arbitrary partial or malformed snapshots', () => {
    fc.assert(
      fc.property(snapshotArb, fc.record(Object.fromEntries(Object.keys(DEFAULT_DETECTOR_SETTINGS).map((k) => [k, fc.integer({ min: 0, max: 86400 })]))), (snapshot, settings) => {
        const effective = { ...DEFAULT_DETECTOR_SETTINGS, ...settings };
        for (const [, detector] of DETECTORS) detector(snapshot, effective, NOW);
        expect(runDetectors(snapshot, settings, NOW).errors).toEqual([]);
      }),
      { numRuns: 400 },
    );
  });

  it('every finding names a subject, carries primitive facts, and its owner is in the snapshot or absent', () => {
    const seen = { findings: 0, owned: 0 };
    fc.assert(
      fc.property(snapshotArb, (snapshot) => {
        for (const finding of detectAll(snapshot, { deploymentUnavailableSeconds: 0, unschedulableSeconds: 0, nodeNotReadySeconds: 0, podTerminatingSeconds: 0 }, NOW)) {
          seen.findings += 1;
          if (finding.owner) seen.owned += 1;
          expect(ownerPresent(snapshot, finding)).toBe(true);
          expect(finding.subject.name).toMatch(DNS_NAME);
          if (finding.subject.kind !== 'Node') expect(finding.subject.namespace).toMatch(DNS_NAME);
          if (finding.owner) expect(finding.owner.name).toMatch(DNS_NAME);
          for (const value of Object.values(finding.facts)) {
            expect(['string', 'number', 'boolean']).toContain(typeof value);
            if (typeof value === 'number') expect(Number.isFinite(value)).toBe(true);
            if (typeof value === 'string') expect(value.length).toBeLessThanOrEqual(1000);
          }
        }
      }),
      { numRuns: 300 },
    );
    // The generator must reach the interesting cases, or the property holds vacuously.
    expect(seen.owned).toBeGreaterThan(0);
  });

  it('detectAll is deterministic: same input, same findings in the same order', () => {
    fc.assert(
      fc.property(snapshotArb, (snapshot) => {
        const first = detectAll(snapshot, {}, NOW);
        expect(detectAll(snapshot, {}, NOW)).toEqual(first);
        expect(detectAll(structuredClone(snapshot), {}, NOW)).toEqual(first);
      }),
      { numRuns: 200 },
    );
  });

  it('groupByOwner keeps every finding exactly once', () => {
    fc.assert(
      fc.property(snapshotArb, (snapshot) => {
        const findings = detectAll(snapshot, { deploymentUnavailableSeconds: 0, unschedulableSeconds: 0 }, NOW);
        const groups = groupByOwner(findings);
        expect(groups.flatMap((g) => g.findings)).toHaveLength(findings.length);
        expect(new Set(groups.map((g) => g.key)).size).toBe(groups.length);
        for (const g of groups) expect(g.findings.every((f) => f.symptom === g.symptom && (f.subject.namespace ?? undefined) === g.namespace)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
