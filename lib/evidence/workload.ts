import type { GovernanceEvidence, RevisionEvidence, RolloutEvidence } from '../domain/types.js';

/**
 * Pure analysis of the objects around a pod: rollout history and what changed, and who else
 * governs the workload. Shapes are structural subsets of the Kubernetes objects, so the adapter
 * passes client objects straight in and tests pass plain data.
 */
export interface Meta {
  readonly name?: string;
  readonly uid?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly creationTimestamp?: Date | string;
  readonly ownerReferences?: readonly { readonly uid: string; readonly controller?: boolean }[];
}

export interface ContainerSpecLike {
  readonly name: string;
  readonly image?: string;
  readonly env?: readonly { readonly name: string; readonly value?: string; readonly valueFrom?: unknown }[];
  readonly resources?: { readonly requests?: Readonly<Record<string, string>>; readonly limits?: Readonly<Record<string, string>> };
}

export interface ReplicaSetLike {
  readonly metadata?: Meta;
  readonly spec?: { readonly template?: { readonly spec?: { readonly containers?: readonly ContainerSpecLike[] } } };
  readonly status?: { readonly replicas?: number; readonly readyReplicas?: number };
}

const REVISION = 'deployment.kubernetes.io/revision';
const MAX_REVISIONS = 5;

const revisionOf = (rs: ReplicaSetLike) => {
  const n = Number(rs.metadata?.annotations?.[REVISION]);
  return Number.isFinite(n) ? n : undefined;
};

function iso(t: Date | string | undefined): string | undefined {
  if (t === undefined) return undefined;
  return typeof t === 'string' ? t : t.toISOString();
}

/** Images, env names (values never: they may be secrets) and resources that differ. */
export function templateChanges(before: readonly ContainerSpecLike[], after: readonly ContainerSpecLike[]): string[] {
  const changes: string[] = [];
  const old = new Map(before.map((c) => [c.name, c]));
  for (const c of after) {
    const prev = old.get(c.name);
    if (!prev) {
      changes.push(`container ${c.name} added`);
      continue;
    }
    if (prev.image !== c.image) changes.push(`container ${c.name} image ${prev.image ?? '?'} -> ${c.image ?? '?'}`);
    const envBefore = new Map((prev.env ?? []).map((e) => [e.name, JSON.stringify([e.value, e.valueFrom])]));
    const envAfter = new Map((c.env ?? []).map((e) => [e.name, JSON.stringify([e.value, e.valueFrom])]));
    for (const [name, v] of envAfter) {
      if (!envBefore.has(name)) changes.push(`container ${c.name} env ${name} added`);
      else if (envBefore.get(name) !== v) changes.push(`container ${c.name} env ${name} changed`);
    }
    for (const name of envBefore.keys()) if (!envAfter.has(name)) changes.push(`container ${c.name} env ${name} removed`);
    for (const kind of ['requests', 'limits'] as const) {
      const a = prev.resources?.[kind] ?? {};
      const b = c.resources?.[kind] ?? {};
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        if (a[key] !== b[key]) changes.push(`container ${c.name} ${kind}.${key} ${a[key] ?? 'unset'} -> ${b[key] ?? 'unset'}`);
      }
    }
  }
  for (const name of old.keys()) if (!after.some((c) => c.name === name)) changes.push(`container ${name} removed`);
  return changes;
}

/** The Deployment's revisions (its own ReplicaSets only), newest first, and what the pod's changed. */
export function summariseRollout(deployment: { name: string; uid?: string }, replicaSets: readonly ReplicaSetLike[], podReplicaSet: string): RolloutEvidence {
  const owned = replicaSets
    .filter((rs) => deployment.uid === undefined || rs.metadata?.ownerReferences?.some((o) => o.controller && o.uid === deployment.uid))
    .sort((a, b) => (revisionOf(b) ?? -1) - (revisionOf(a) ?? -1));
  const revisions: RevisionEvidence[] = owned.slice(0, MAX_REVISIONS).map((rs) => ({
    name: rs.metadata?.name ?? '',
    revision: revisionOf(rs),
    images: (rs.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? '?'),
    replicas: rs.status?.replicas ?? 0,
    readyReplicas: rs.status?.readyReplicas ?? 0,
    createdAt: iso(rs.metadata?.creationTimestamp),
  }));
  const podIndex = owned.findIndex((rs) => rs.metadata?.name === podReplicaSet);
  const pod = owned[podIndex];
  const previous = podIndex >= 0 ? owned[podIndex + 1] : undefined;
  return {
    deployment: deployment.name,
    revisions,
    podRevision: pod ? revisionOf(pod) : undefined,
    newestRevision: owned[0] ? revisionOf(owned[0]) : undefined,
    changes: pod && previous ? templateChanges(previous.spec?.template?.spec?.containers ?? [], pod.spec?.template?.spec?.containers ?? []) : [],
  };
}

/** A bad release: the pod runs the newest revision, which has nothing ready, while an older one still serves. */
export function isBadReleaseShape(rollout: RolloutEvidence | undefined): boolean {
  if (!rollout || rollout.podRevision === undefined || rollout.podRevision !== rollout.newestRevision) return false;
  const [newest, ...older] = rollout.revisions;
  return newest !== undefined && newest.readyReplicas === 0 && older.some((r) => r.readyReplicas > 0);
}

export interface LabelSelectorLike {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: string; readonly values?: readonly string[] }[];
}

/** Kubernetes label selector semantics; an empty selector matches everything, an unknown operator nothing. */
export function selectorMatches(selector: LabelSelectorLike | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const value = labels[e.key];
    const values = e.values ?? [];
    const ok =
      e.operator === 'In' ? has && values.includes(value ?? '') :
      e.operator === 'NotIn' ? !has || !values.includes(value ?? '') :
      e.operator === 'Exists' ? has :
      e.operator === 'DoesNotExist' ? !has : false;
    if (!ok) return false;
  }
  return true;
}

/** Argo CD and Flux mark what they manage; a GitOps-owned workload must not be changed behind their back. */
export function gitopsOwner(meta: Meta | undefined): GovernanceEvidence['gitops'] {
  const labels = meta?.labels ?? {};
  const annotations = meta?.annotations ?? {};
  if (annotations['argocd.argoproj.io/tracking-id'] !== undefined || labels['argocd.argoproj.io/instance'] !== undefined) return 'argocd';
  if (Object.keys(labels).some((k) => k.startsWith('kustomize.toolkit.fluxcd.io/') || k.startsWith('helm.toolkit.fluxcd.io/'))) return 'flux';
  return undefined;
}
