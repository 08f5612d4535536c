import type { Evidence, ObjectRef } from '../domain/types.js';
import type { NamespacedRef } from '../ports/investigator.js';

/**
 * What one diagnosis may look at: derived from the evidence, never from the model. Every
 * investigation tool (lib/diagnose/tools.ts) checks its call against this before any read.
 */
export interface InvestigationScope {
  /** The incident's pod, when the subject is a pod that exists. */
  readonly pod?: NamespacedRef;
  /** Owner chain, subject first. */
  readonly chain: readonly ObjectRef[];
  readonly node?: string;
  readonly containers: readonly string[];
}

export function scopeOf(evidence: Evidence): InvestigationScope {
  const first = evidence.ownerChain[0];
  const pod = evidence.exists && first?.kind === 'Pod' && first.namespace ? { kind: 'Pod', name: first.name, namespace: first.namespace } : undefined;
  const node = evidence.nodeName ?? (evidence.subject.kind === 'Node' ? evidence.subject.name : undefined);
  return {
    ...(pod ? { pod } : {}),
    chain: evidence.ownerChain,
    ...(node ? { node } : {}),
    containers: evidence.containers.map((c) => c.name),
  };
}

/**
 * The object a call names, when it is in scope: one owner-chain entry (kind compared
 * case-insensitively, name and namespace exactly; an omitted namespace must still name exactly one
 * entry) or the pod's node. Pure.
 */
export function resolveInScope(ref: { kind: string; name: string; namespace?: string | undefined }, scope: InvestigationScope): ObjectRef | undefined {
  if (ref.kind.toLowerCase() === 'node') {
    return scope.node !== undefined && ref.name === scope.node && ref.namespace === undefined ? { kind: 'Node', name: scope.node } : undefined;
  }
  const matches = scope.chain.filter(
    (o) => o.kind.toLowerCase() === ref.kind.toLowerCase() && o.name === ref.name && (ref.namespace === undefined || o.namespace === ref.namespace),
  );
  return matches.length === 1 ? matches[0] : undefined;
}

export const describeRef = (o: ObjectRef): string => `${o.kind}/${o.namespace ? `${o.namespace}/` : ''}${o.name}`;

/** The objects a call may name, for a refusal's text. */
export function allowedList(scope: InvestigationScope): string {
  const refs = [...scope.chain.map(describeRef), ...(scope.node ? [`Node/${scope.node}`] : [])];
  return refs.length > 0 ? refs.join(', ') : '(none)';
}
