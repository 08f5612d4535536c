/**
 * What the healer's Kubernetes identity may do, asked of the cluster itself: every verb its role
 * grants in infra/rbac.yaml (the catalog's needs) must be allowed, and a sample of what no healer
 * may ever do must be denied. The lists are pure (from the manifest); the asking is an adapter:
 * SelfSubjectAccessReview as the healer's own kubeconfig, or, where the healer signs in through
 * IAM (EKS) and there is no kubeconfig to borrow, SubjectAccessReview for its group, asked by the
 * operator.
 */
import { readFileSync } from 'node:fs';
import { AuthorizationV1Api, loadAllYaml, type KubeConfig, type V1ResourceAttributes } from '@kubernetes/client-node';

export interface Access {
  readonly group: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly verb: string;
}

/** What no healer identity may do: secrets, exec, deleting what it only restarts, escalating. */
export const FORBIDDEN_SAMPLE: readonly Access[] = [
  { group: '', resource: 'secrets', verb: 'get' },
  { group: '', resource: 'secrets', verb: 'list' },
  { group: '', resource: 'pods', subresource: 'exec', verb: 'create' },
  { group: '', resource: 'pods', verb: 'delete' },
  { group: 'apps', resource: 'deployments', verb: 'delete' },
  { group: '', resource: 'namespaces', verb: 'delete' },
  { group: '', resource: 'nodes', verb: 'delete' },
  { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', verb: 'create' },
  { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verb: 'escalate' },
  { group: '', resource: 'serviceaccounts', subresource: 'token', verb: 'create' },
];

export const label = (a: Access) => `${a.verb} ${a.group ? `${a.group}/` : ''}${a.resource}${a.subresource ? `/${a.subresource}` : ''}`;

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
}

/** Every (group, resource, verb) the named ClusterRole grants, from the manifest's text. */
export function grantedBy(manifest: string, role: string): Access[] {
  const docs = loadAllYaml(manifest) as { kind?: string; metadata?: { name?: string }; rules?: Rule[] }[];
  const found = docs.find((d) => d?.kind === 'ClusterRole' && d.metadata?.name === role);
  if (!found) throw new Error(`no ClusterRole ${role} in the manifest`);
  const out: Access[] = [];
  for (const rule of found.rules ?? []) {
    for (const group of rule.apiGroups ?? []) {
      for (const full of rule.resources ?? []) {
        const [resource = '', subresource] = full.split('/');
        for (const verb of rule.verbs ?? []) out.push({ group, resource, ...(subresource ? { subresource } : {}), verb });
      }
    }
  }
  return out;
}

export function healerManifest(): string {
  return readFileSync(new URL('../../infra/rbac.yaml', import.meta.url), 'utf8');
}

export interface AccessReport {
  /** Granted by the role but refused by the cluster: an action would fail at the first incident. */
  readonly missing: readonly Access[];
  /** In the forbidden sample but allowed: the identity is wider than the healer needs. */
  readonly excess: readonly Access[];
  readonly checked: number;
}

/** Who is asked about: the kubeconfig's own identity, or a group (as the operator). */
export type Subject = { readonly self: true } | { readonly user: string; readonly groups: readonly string[] };

export async function reviewAccess(kc: KubeConfig, subject: Subject, required: readonly Access[], forbidden: readonly Access[] = FORBIDDEN_SAMPLE): Promise<AccessReport> {
  const api = kc.makeApiClient(AuthorizationV1Api);
  const allowed = async (a: Access): Promise<boolean> => {
    const resourceAttributes: V1ResourceAttributes = { group: a.group, resource: a.resource, verb: a.verb, ...(a.subresource ? { subresource: a.subresource } : {}) };
    const review = 'self' in subject
      ? await api.createSelfSubjectAccessReview({ body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes } } })
      : await api.createSubjectAccessReview({ body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { resourceAttributes, user: subject.user, groups: [...subject.groups] } } });
    return review.status?.allowed === true;
  };
  const [req, forb] = await Promise.all([Promise.all(required.map(allowed)), Promise.all(forbidden.map(allowed))]);
  return {
    missing: required.filter((_, i) => !req[i]),
    excess: forbidden.filter((_, i) => forb[i]),
    checked: required.length + forbidden.length,
  };
}
