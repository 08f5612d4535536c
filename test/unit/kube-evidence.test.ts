import { describe, expect, it } from 'vitest';
import type { CoreV1Event, V1Deployment, V1Node, V1Pod } from '@kubernetes/client-node';
import { controllerOf, eventCount, eventTimes, isConditionTrue, isReady, labelSelectorOf } from '../../lib/domain/kube-objects.js';
import { OPT_OUT_KEY, optedOut, workloadOptedOut } from '../../lib/evidence/opt-out.js';
import { CHAIN_GAP, MAX_OWNER_DEPTH, podWorkloads, walkOwners, type OwnerObject } from '../../lib/evidence/owner-walk.js';
import { eventEvidenceOf, newestFirst } from '../../lib/evidence/events.js';
import { containersKeepingText, containersReady, finishedMs, newerPod, podStates, worstPod } from '../../lib/evidence/pods.js';
import { absentEvidence, deploymentEvidence, nodeEvidence, placementEvidence, podEvidence } from '../../lib/evidence/assemble.js';
import { nodeCountsOf } from '../../lib/evidence/status.js';
import { anIncident } from '../fixtures/builders.js';

/** The read layer's pure parts: what the reads mean, from plain objects, without a cluster. */

const owner = (kind: string, name: string, uid = `${name}-uid`) => ({ apiVersion: 'apps/v1', kind, name, uid, controller: true });

const pod = (name: string, opts: { ready?: boolean[]; restarts?: number; phase?: string; created?: string; finished?: string } = {}): V1Pod => ({
  metadata: { name, namespace: 'shop', uid: `${name}-uid`, ...(opts.created ? { creationTimestamp: new Date(opts.created) } : {}), ownerReferences: [owner('ReplicaSet', 'web-1')] },
  status: {
    phase: opts.phase ?? 'Running',
    containerStatuses: (opts.ready ?? [true]).map((ready, i) => ({
      name: `c${i}`, ready, restartCount: opts.restarts ?? 0, image: 'x', imageID: '',
      ...(ready ? {} : { state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, reason: 'Error', ...(opts.finished ? { finishedAt: new Date(opts.finished) } : {}) } } }),
      ...(opts.finished && ready ? { state: { terminated: { exitCode: 0, finishedAt: new Date(opts.finished) } } } : {}),
    })),
  },
});

describe('Kubernetes object facts', () => {
  it('builds one label selector from matchLabels, and none from an empty selector', () => {
    expect(labelSelectorOf({ matchLabels: { app: 'web', tier: 'front' } })).toBe('app=web,tier=front');
    expect(labelSelectorOf({})).toBe('');
    expect(labelSelectorOf(undefined)).toBe('');
  });

  it('reads readiness from the Ready condition only when it says True', () => {
    expect(isReady({ status: { conditions: [{ type: 'Ready', status: 'True' }] } })).toBe(true);
    expect(isReady({ status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } })).toBe(false);
    expect(isReady({ status: {} })).toBe(false);
    expect(isReady(undefined)).toBe(false);
    expect(isConditionTrue([{ type: 'Available', status: 'True' }], 'Ready')).toBe(false);
  });

  it('finds the controller among the owners', () => {
    expect(controllerOf({ ownerReferences: [{ kind: 'X', name: 'a', uid: '1' }, owner('ReplicaSet', 'b')] })?.name).toBe('b');
    expect(controllerOf({ ownerReferences: [{ kind: 'X', name: 'a', uid: '1' }] })).toBeUndefined();
  });

  it('takes times and counts from a series first, then the core/v1 fields, then eventTime', () => {
    expect(eventTimes({ series: { count: 7, lastObservedTime: new Date('2026-01-01T00:00:09Z') }, lastTimestamp: new Date('2026-01-01T00:00:05Z') })).toEqual({ last: '2026-01-01T00:00:09.000Z' });
    expect(eventTimes({ eventTime: '2026-01-01T00:00:01.000000Z' })).toEqual({ last: '2026-01-01T00:00:01.000000Z', first: '2026-01-01T00:00:01.000000Z' });
    expect(eventTimes({ firstTimestamp: new Date('2026-01-01T00:00:00Z') })).toEqual({ first: '2026-01-01T00:00:00.000Z' });
    expect(eventCount({ count: 3, series: { count: 7 } })).toBe(7);
    expect(eventCount({ count: 3 })).toBe(3);
    expect(eventCount({})).toBeUndefined();
  });
});

describe('opt-out', () => {
  const on = { annotations: { [OPT_OUT_KEY]: 'true' } };
  it('is set by an annotation or a label saying "true", nothing else', () => {
    expect(optedOut(on)).toBe(true);
    expect(optedOut({ labels: { [OPT_OUT_KEY]: 'true' } })).toBe(true);
    expect(optedOut({ labels: { [OPT_OUT_KEY]: 'false' } })).toBe(false);
    expect(optedOut(undefined)).toBe(false);
  });

  it('counts a workload\'s pod template, and a CronJob\'s job template and its pod template', () => {
    expect(workloadOptedOut('Deployment', { spec: { template: { metadata: on } } })).toBe(true);
    expect(workloadOptedOut('CronJob', { spec: { jobTemplate: { metadata: on } } })).toBe(true);
    expect(workloadOptedOut('CronJob', { spec: { jobTemplate: { spec: { template: { metadata: on } } } } })).toBe(true);
    expect(workloadOptedOut('Deployment', { metadata: {}, spec: { template: { metadata: {} } } })).toBe(false);
  });
});

describe('owner walk', () => {
  const objects = new Map<string, OwnerObject>([
    ['ReplicaSet/web-1', { metadata: { name: 'web-1', uid: 'web-1-uid', ownerReferences: [owner('Deployment', 'web')] } }],
    ['Deployment/web', { metadata: { name: 'web', uid: 'web-uid' }, spec: { template: { metadata: { labels: { [OPT_OUT_KEY]: 'true' } } } } }],
  ]);
  const reads: string[] = [];
  const read = (kind: string, name: string) => {
    reads.push(`${kind}/${name}`);
    const found = objects.get(`${kind}/${name}`);
    return found ? Promise.resolve(found) : Promise.reject(new Error('HTTP 404: not found'));
  };
  const describeError = (e: unknown) => (e instanceof Error ? e.message : String(e));

  it('reads each controller up to the top, keeps what it read, and sees an opt-out on a pod template above', async () => {
    const gaps: string[] = [];
    const walk = await walkOwners({ uid: 'p', ownerReferences: [owner('ReplicaSet', 'web-1')] }, 'shop', gaps, read, describeError);
    expect(walk.refs.map((r) => `${r.kind}/${r.name}/${r.namespace ?? ''}`)).toEqual(['ReplicaSet/web-1/shop', 'Deployment/web/shop']);
    expect(walk).toMatchObject({ complete: true, optOut: true });
    expect(gaps).toEqual([]);
    expect(podWorkloads(walk).replicaSet?.metadata?.name).toBe('web-1');
    expect(podWorkloads(walk).deployment?.metadata?.name).toBe('web');
  });

  it('is a named gap when an owner is unreadable, of a kind it does not read, another object, or a cycle', async () => {
    const cases: [string, OwnerObject['metadata'], RegExp][] = [
      ['missing', { ownerReferences: [owner('ReplicaSet', 'gone')] }, /ReplicaSet shop\/gone unreadable: HTTP 404/],
      ['foreign kind', { ownerReferences: [owner('Rollout', 'argo')] }, /Rollout shop\/argo is of a kind the healer does not read/],
      ['replaced', { ownerReferences: [owner('ReplicaSet', 'web-1', 'older-uid')] }, /another object than the one named as owner/],
      ['cycle', { uid: 'web-1-uid', ownerReferences: [owner('ReplicaSet', 'web-1')] }, /owns itself/],
    ];
    for (const [, start, why] of cases) {
      const gaps: string[] = [];
      const walk = await walkOwners(start, 'shop', gaps, read, describeError);
      expect(walk.complete).toBe(false);
      expect(walk.refs.length).toBeGreaterThan(0);
      expect(gaps[0]).toMatch(new RegExp(`^${CHAIN_GAP}: `));
      expect(gaps[0]).toMatch(why);
    }
  });

  it('stops at the depth bound', async () => {
    const chain = new Map<string, OwnerObject>();
    for (let i = 0; i < MAX_OWNER_DEPTH + 2; i += 1) chain.set(`ReplicaSet/r${i}`, { metadata: { uid: `r${i}-uid`, ownerReferences: [owner('ReplicaSet', `r${i + 1}`)] } });
    const gaps: string[] = [];
    const walk = await walkOwners({ ownerReferences: [owner('ReplicaSet', 'r0')] }, 'shop', gaps, (k, n) => Promise.resolve(chain.get(`${k}/${n}`) ?? {}), describeError);
    expect(walk.complete).toBe(false);
    expect(walk.refs).toHaveLength(MAX_OWNER_DEPTH);
    expect(gaps[0]).toMatch(/more than 5 owners/);
  });
});

describe('events as evidence', () => {
  it('redacts reason and message at the one redaction step, and keeps the newest first', () => {
    const secret = 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
    const event = { metadata: {}, involvedObject: {}, type: 'Warning', reason: 'Failed', message: `pull failed with token ${secret}`, count: 2, lastTimestamp: new Date('2026-01-01T00:00:02Z') } as CoreV1Event;
    const older = eventEvidenceOf({ ...event, message: 'older', lastTimestamp: new Date('2026-01-01T00:00:01Z') }, 'Pod/p');
    const evidence = eventEvidenceOf(event, 'Pod/p');
    expect(evidence.message).not.toContain(secret);
    expect(evidence).toMatchObject({ object: 'Pod/p', type: 'Warning', reason: 'Failed', count: 2, lastSeen: '2026-01-01T00:00:02.000Z' });
    expect(newestFirst([older, evidence]).map((e) => e.message)).toEqual([evidence.message, 'older']);
    expect(eventEvidenceOf({ metadata: {}, involvedObject: {} }, 'Node/n')).toEqual({ object: 'Node/n', type: 'Normal', reason: '', message: '', count: 1 });
  });
});

describe('pods as evidence', () => {
  it('reads the worst pod first: not ready, then the most restarts', () => {
    const pods = [pod('ok'), pod('crashing', { ready: [false], restarts: 3 }), pod('crashing-more', { ready: [true, false], restarts: 9 })];
    expect(worstPod(pods)?.metadata?.name).toBe('crashing-more');
    expect(worstPod([])).toBeUndefined();
    expect(containersReady(pods[0] as V1Pod)).toBe(true);
    expect(podStates(pods)).toEqual({ ready: 1, 'waiting:CrashLoopBackOff': 2, 'terminated:Error': 2 });
    expect(podStates([{ status: { phase: 'Pending' } }])).toEqual({ 'phase:Pending': 1 });
  });

  it('keeps an earlier read\'s log tails with the container states read now, by container name', () => {
    const now = pod('p', { ready: [false, true], restarts: 4 }).status?.containerStatuses ?? [];
    const kept = containersKeepingText(now, [{ name: 'c0', ready: false, restartCount: 3, previousLogTail: 'refused' }, { name: 'gone', ready: false, restartCount: 1, previousLogTail: 'x' }]);
    expect(kept.map((c) => [c.name, c.restartCount, c.previousLogTail])).toEqual([['c0', 4, 'refused'], ['c1', 4, undefined]]);
    expect(containersKeepingText(now, undefined).every((c) => c.previousLogTail === undefined && c.logError === undefined)).toBe(true);
  });

  it('knows the newer pod and when a pod finished', () => {
    const a = pod('a', { created: '2026-01-01T00:00:00Z' });
    const b = pod('b', { created: '2026-01-01T00:01:00Z', finished: '2026-01-01T00:02:00Z', phase: 'Succeeded' });
    expect(newerPod(newerPod(undefined, a), b).metadata?.name).toBe('b');
    expect(newerPod(b, a).metadata?.name).toBe('b');
    expect(finishedMs(b)).toBe(Date.parse('2026-01-01T00:02:00Z'));
    expect(finishedMs(a)).toBeUndefined();
  });
});

describe('evidence per subject kind', () => {
  const gatheredAt = '2026-01-01T00:00:00.000Z';
  const walk = { refs: [{ kind: 'ReplicaSet', name: 'web-1', namespace: 'shop', uid: 'web-1-uid' }], optOut: false, complete: true, read: [] };

  it('a pod: its owners, its readiness, its own opt-out, events newest first within the limit', () => {
    const incident = anIncident({ subject: { kind: 'Pod', name: 'p', namespace: 'shop' } });
    const p = { ...pod('p', { ready: [false], restarts: 2 }), metadata: { ...pod('p').metadata, annotations: { [OPT_OUT_KEY]: 'true' } } } as V1Pod;
    const events = ['01', '03', '02'].map((s) => ({ type: 'Warning', reason: 'BackOff', message: s, count: 1, lastSeen: `2026-01-01T00:00:${s}Z` }));
    const evidence = podEvidence({ incident, pod: p, owners: walk, events, namespaceOptOut: false, containers: [], rollout: undefined, node: undefined, governance: {}, deployment: undefined, eventsLimit: 2, gatheredAt, gaps: ['x'] });
    expect(evidence.ownerChain.map((o) => o.kind)).toEqual(['Pod', 'ReplicaSet']);
    expect(evidence).toMatchObject({ exists: true, podReady: false, optOut: true, ownerChainComplete: true, gaps: ['x'] });
    expect(evidence.events.map((e) => e.message)).toEqual(['03', '02']);
  });

  it('a Deployment: its replica status and its pods\' states counted; opted out on its template', () => {
    const incident = anIncident({ subject: { kind: 'Deployment', name: 'web', namespace: 'shop' } });
    const deployment: V1Deployment = { metadata: { name: 'web', uid: 'web-uid', resourceVersion: '7' }, spec: { replicas: 3, selector: {}, template: { metadata: { labels: { [OPT_OUT_KEY]: 'true' } } } }, status: { readyReplicas: 1 } };
    const pods = [pod('a'), pod('b', { ready: [false] })];
    const evidence = deploymentEvidence({ incident, deployment, pods, worst: pods[1], above: { ...walk, refs: [] }, events: [], namespaceOptOut: false, containers: [], rollout: undefined, governance: {}, gatheredAt, gaps: [] });
    expect(evidence.workload).toMatchObject({ name: 'web', desiredReplicas: 3, readyReplicas: 1, podStates: { ready: 1, 'waiting:CrashLoopBackOff': 1, 'terminated:Error': 1 } });
    expect(evidence).toMatchObject({ resourceVersion: '7', optOut: true, ownerChain: [{ kind: 'Deployment', name: 'web', namespace: 'shop', uid: 'web-uid' }] });
  });

  it('a Node: no namespace opt-out, its conditions, the node counts', () => {
    const incident = anIncident({ subject: { kind: 'Node', name: 'n1', namespace: '' } });
    const node: V1Node = { metadata: { name: 'n1', uid: 'n1-uid' }, status: { conditions: [{ type: 'Ready', status: 'False' }] } };
    const nodes: V1Node[] = [node, { metadata: { name: 'n2' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } }, { metadata: { name: 'n3' }, spec: { unschedulable: true } }];
    const evidence = nodeEvidence({ incident, node, above: { ...walk, refs: [] }, events: [], nodeCounts: nodeCountsOf(nodes, 'n1'), gatheredAt, gaps: [] });
    expect(evidence).toMatchObject({ namespaceOptOut: false, nodeCounts: { total: 3, cordoned: 1, schedulableOthers: 1 }, node: { name: 'n1', conditions: [{ type: 'Ready', status: 'False' }] } });
  });

  it('a kind not gathered yet says so, and a subject that is gone is absent', () => {
    const incident = anIncident({ subject: { kind: 'StatefulSet', name: 'db', namespace: 'shop' } });
    const placed = placementEvidence(incident, { chain: [{ kind: 'StatefulSet', name: 'db' }], optOut: false, namespaceOptOut: true, complete: true, gaps: ['g'] }, gatheredAt);
    expect(placed).toMatchObject({ exists: true, namespaceOptOut: true, gaps: ['g', 'evidence for StatefulSet incidents is not gathered yet'] });
    expect(absentEvidence(incident, gatheredAt)).toMatchObject({ exists: false, ownerChain: [], ownerChainComplete: false, optOut: false });
  });
});
