import type { ObjectRef } from '../domain/types.js';
import { controllerOf, refWhere, type MetaLike } from '../domain/kube-objects.js';
import { workloadOptedOut, type WorkloadLike } from './opt-out.js';

/**
 * The owner chain above one object, and what it says about opt-out. The walk's decisions (which
 * kinds are read, how deep, what counts as a gap) live here; the reading is passed in, so tests
 * run it over plain objects and the adapter over the API server.
 */

/** Controller kinds the healer reads when they own something: it knows their owners and opt-out. */
export const READABLE_OWNER_KINDS: readonly string[] = ['ReplicaSet', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'];

/** Owners read above a subject at most: Pod → ReplicaSet → Deployment and Pod → Job → CronJob need two. */
export const MAX_OWNER_DEPTH = 5;

/** Every gap of the owner walk starts so: the page says why, the policy reads ownerChainComplete. */
export const CHAIN_GAP = 'owner chain incomplete';

/** One owner as read: whatever its kind, its metadata and pod template are what the walk looks at. */
export type OwnerObject = WorkloadLike & { readonly metadata?: MetaLike };

/** The controller owners above one object, as far as they could be read. */
export interface OwnerWalk<O extends OwnerObject = OwnerObject> {
  /** Each controller owner above the start, nearest first: named even when it could not be read. */
  readonly refs: ObjectRef[];
  /** An owner read opted out (annotation or label, on it or its pod template). */
  optOut: boolean;
  /** Every owner up to the top was read; false on any gap (unreadable kind, failed read, depth, cycle). */
  complete: boolean;
  /** Each owner read, nearest first, with its kind (the evidence wants the ReplicaSet and Deployment). */
  readonly read: { readonly kind: string; readonly object: O }[];
}

/**
 * Follows controller references up from one object, reading each owner of a kind the healer
 * reads (READABLE_OWNER_KINDS) for its opt-out and its own owner, at most MAX_OWNER_DEPTH deep.
 * An owner of another kind, a failed read (a 404 too: the owner is going away), an owner that is
 * another object now (uid), a cycle or the depth bound is a gap: the owner is still named in
 * `refs`, so the workload key stays the workload's, and `complete` is false. `describe` turns a
 * read's failure into text for the gap.
 */
export async function walkOwners<O extends OwnerObject>(
  start: MetaLike | undefined,
  namespace: string,
  gaps: string[],
  read: (kind: string, name: string) => Promise<O>,
  describe: (error: unknown) => string,
): Promise<OwnerWalk<O>> {
  const walk: OwnerWalk<O> = { refs: [], optOut: false, complete: true, read: [] };
  const incomplete = (why: string): OwnerWalk<O> => {
    gaps.push(`${CHAIN_GAP}: ${why}`);
    walk.complete = false;
    return walk;
  };
  const seen = new Set<string>(start?.uid ? [start.uid] : []);
  let meta = start;
  for (let depth = 0; ; depth += 1) {
    const owner = controllerOf(meta);
    if (!owner) return walk;
    const where = refWhere(owner.kind, namespace, owner.name);
    if (depth >= MAX_OWNER_DEPTH) return incomplete(`more than ${MAX_OWNER_DEPTH} owners above the subject (next: ${where})`);
    walk.refs.push({ kind: owner.kind, name: owner.name, ...(namespace ? { namespace } : {}), uid: owner.uid });
    if (seen.has(owner.uid)) return incomplete(`${where} owns itself through its chain`);
    seen.add(owner.uid);
    if (!READABLE_OWNER_KINDS.includes(owner.kind)) return incomplete(`${where} is of a kind the healer does not read, so whether it opted out is unknown`);
    let object: O;
    try {
      object = await read(owner.kind, owner.name);
    } catch (error) {
      return incomplete(`${where} unreadable: ${describe(error)}`);
    }
    if (object.metadata?.uid !== owner.uid) return incomplete(`${where} is another object than the one named as owner (uid ${object.metadata?.uid ?? 'unknown'}, expected ${owner.uid})`);
    walk.optOut ||= workloadOptedOut(owner.kind, object);
    walk.read.push({ kind: owner.kind, object });
    meta = object.metadata;
  }
}

/** The pod's own ReplicaSet (its direct owner) and the first Deployment above, as the walk read them. */
export function podWorkloads<O extends OwnerObject>(walk: OwnerWalk<O>): { replicaSet?: O; deployment?: O } {
  const first = walk.read[0];
  const replicaSet = first?.kind === 'ReplicaSet' ? first.object : undefined;
  const deployment = walk.read.find((r) => r.kind === 'Deployment')?.object;
  return { ...(replicaSet ? { replicaSet } : {}), ...(deployment ? { deployment } : {}) };
}
