import type { Finding } from './finding.js';
import { isObject, items, k8sKind, k8sName, k8sUid, str } from './read.js';
import type { ClusterSnapshot, ControllerRef, ObjectInfo } from './snapshot.js';

/** Longest owner chain followed (Pod → ReplicaSet → Deployment → an operator's kind is 3). */
const MAX_DEPTH = 8;

const OWN_LIST_KINDS: ReadonlySet<string> = new Set(['ReplicaSet', 'Deployment', 'Job']);

type OwnerIndex = ReadonlyMap<string, ObjectInfo>;

const key = (kind: string, namespace: string, name: string) => `${kind}\u0000${namespace}\u0000${name}`;

// Every detector resolves owners; the index is built once per snapshot object and dropped with it.
const cache = new WeakMap<ClusterSnapshot, OwnerIndex>();

function ownerIndex(snapshot: ClusterSnapshot): OwnerIndex {
  const cached = cache.get(snapshot);
  if (cached) return cached;
  const index = new Map<string, ObjectInfo>();
  const add = (kind: string | undefined, object: ObjectInfo) => {
    const namespace = str(object.namespace);
    const name = str(object.name);
    if (!kind || !namespace || !name) return;
    const k = key(kind, namespace, name);
    if (!index.has(k)) index.set(k, object);
  };
  for (const rs of items(snapshot.replicaSets)) add('ReplicaSet', rs);
  for (const deployment of items(snapshot.deployments)) add('Deployment', deployment);
  for (const job of items(snapshot.jobs)) add('Job', job);
  // Kinds with their own list are found only there, so "in the snapshot" has one meaning.
  for (const workload of items(snapshot.workloads)) {
    const kind = str(workload.kind);
    if (kind && !OWN_LIST_KINDS.has(kind)) add(kind, workload);
  }
  cache.set(snapshot, index);
  return index;
}

/**
 * The topmost controller above an object that the snapshot holds, following controller
 * ownerReferences (Pod → ReplicaSet → Deployment, Pod → Job → CronJob). A reference whose uid
 * differs from the object found by name is stale (the owner was deleted and recreated) and ends
 * the chain, as does an owner missing from the snapshot. Owner references never cross namespaces.
 */
export function topOwner(snapshot: ClusterSnapshot, namespace: string | undefined, controller: ControllerRef | undefined): Finding['owner'] {
  if (!namespace) return undefined;
  const index = ownerIndex(snapshot);
  const seen = new Set<string>();
  let found: Finding['owner'];
  let ref: unknown = controller;
  for (let depth = 0; depth < MAX_DEPTH && isObject(ref); depth++) {
    const kind = k8sKind(ref.kind);
    const name = k8sName(ref.name);
    if (!kind || !name) break;
    const k = key(kind, namespace, name);
    if (seen.has(k)) break;
    seen.add(k);
    const object = index.get(k);
    if (!object) break;
    const refUid = str(ref.uid);
    const objectUid = k8sUid(object.uid);
    if (refUid && objectUid && refUid !== objectUid) break;
    found = objectUid ? { kind, name, uid: objectUid } : { kind, name };
    ref = object.controller;
  }
  return found;
}
