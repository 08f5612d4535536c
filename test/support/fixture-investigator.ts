import type { EventEvidence, Evidence, ObjectRef, RolloutEvidence } from '../../lib/domain/types.js';
import type { Investigator, NamespacedRef, ObjectSummary, PodLogRequest } from '../../lib/ports/investigator.js';

/**
 * An Investigator over a fixed, in-memory cluster, for diagnoser tests and `npm run eval`: it
 * answers like the real one (missing objects are a "not found" error) and records every read, so
 * a test can prove that a refused look-up never reached the cluster. The real one is
 * lib/adapters/kubernetes-investigator.ts, tested against the local control plane.
 */

export interface FixtureCluster {
  /** Log text by `<container>/<previous|current>`. */
  readonly logs?: Readonly<Record<string, string>>;
  /** Events by `<Kind>/<name>`. */
  readonly events?: Readonly<Record<string, readonly EventEvidence[]>>;
  /** Summaries by `<Kind>/<name>`, Nodes included. */
  readonly objects?: Readonly<Record<string, ObjectSummary>>;
  readonly rollout?: RolloutEvidence;
  /** Every read waits this long first (a slow API server). */
  readonly delayMs?: number;
}

export interface RecordedRead {
  readonly method: 'podLog' | 'events' | 'describe' | 'rollout' | 'node';
  readonly target: string;
  readonly request?: PodLogRequest;
}

const key = (o: ObjectRef): string => `${o.kind}/${o.name}`;

export class FixtureInvestigator implements Investigator {
  readonly reads: RecordedRead[] = [];

  constructor(private readonly cluster: FixtureCluster) {}

  private async read<T>(record: RecordedRead, value: T | undefined): Promise<T> {
    this.reads.push(record);
    if (this.cluster.delayMs) await new Promise((resolve) => setTimeout(resolve, this.cluster.delayMs));
    if (value === undefined) throw new Error(`reading ${record.target} failed: the API server answered 404: not found`);
    return value;
  }

  podLog(pod: NamespacedRef, request: PodLogRequest): Promise<string> {
    const text = this.cluster.logs?.[`${request.container}/${request.previous ? 'previous' : 'current'}`];
    const tail = text === undefined ? undefined : text.split('\n').slice(-request.tailLines).join('\n');
    return this.read({ method: 'podLog', target: `${key(pod)}/${request.container}`, request }, tail);
  }

  events(object: ObjectRef, limit: number): Promise<readonly EventEvidence[]> {
    return this.read({ method: 'events', target: key(object) }, (this.cluster.events?.[key(object)] ?? []).slice(0, limit));
  }

  describe(object: ObjectRef): Promise<ObjectSummary> {
    return this.read({ method: 'describe', target: key(object) }, this.cluster.objects?.[key(object)]);
  }

  rollout(deployment: NamespacedRef): Promise<RolloutEvidence> {
    return this.read({ method: 'rollout', target: key(deployment) }, this.cluster.rollout);
  }

  node(name: string): Promise<ObjectSummary> {
    return this.read({ method: 'node', target: `Node/${name}` }, this.cluster.objects?.[`Node/${name}`]);
  }
}

/**
 * A fixture cluster that holds what the evidence step saw, and somewhat more of the logs: what a
 * look-up on the real cluster would have found for a scenario.
 */
export function clusterFromEvidence(evidence: Evidence): FixtureCluster {
  const logs: Record<string, string> = {};
  for (const c of evidence.containers) {
    if (c.previousLogTail !== undefined) logs[`${c.name}/previous`] = `${earlierLines(c.name)}\n${c.previousLogTail}`;
    logs[`${c.name}/current`] = c.currentLogTail ?? `${earlierLines(c.name)}\nstarting ${c.name}`;
  }
  const events: Record<string, EventEvidence[]> = {};
  for (const e of evidence.events) {
    const k = e.object ?? key(evidence.subject);
    (events[k] ??= []).push(e);
  }
  const objects: Record<string, ObjectSummary> = {};
  for (const o of evidence.ownerChain) {
    objects[key(o)] = { kind: o.kind, name: o.name, ...(o.namespace ? { namespace: o.namespace } : {}) };
  }
  const pod = evidence.ownerChain[0];
  if (pod?.kind === 'Pod') {
    objects[key(pod)] = {
      kind: 'Pod', name: pod.name, namespace: pod.namespace, phase: evidence.phase, node: evidence.nodeName,
      containerStatuses: evidence.containers.map((c) => ({ name: c.name, ready: c.ready, restartCount: c.restartCount, waiting: c.waitingReason, lastState: c.lastTermination })),
      containers: (evidence.resources ?? []).map((r) => ({ name: r.container, resources: { requests: r.requests, limits: r.limits } })),
    };
  }
  if (evidence.node) objects[`Node/${evidence.node.name}`] = { kind: 'Node', ...evidence.node };
  return { logs, events, objects, ...(evidence.rollout ? { rollout: evidence.rollout } : {}) };
}

/** Ordinary start-up noise before what the evidence step kept: the look-up returns more than the tail. */
function earlierLines(container: string): string {
  return Array.from({ length: 30 }, (_, i) => `2026-11-25T00:00:${String(i).padStart(2, '0')}Z INFO ${container} worker ${i} ready`).join('\n');
}
