import type { ObjectRef, Symptom } from '../domain/types.js';
import type { Finding } from './finding.js';

/** Findings that share a namespace, an owner and a symptom: one incident's worth. */
export interface FindingGroup {
  /** Stable and unambiguous: namespace, owner kind, owner name, symptom. */
  readonly key: string;
  readonly symptom: Symptom;
  readonly namespace?: string;
  /** The shared owner; a finding without one (a Node, a bare Pod) is its own group, named by its subject. */
  readonly owner: { readonly kind: string; readonly name: string; readonly uid?: string };
  readonly ownerResolved: boolean;
  readonly members: readonly ObjectRef[];
  readonly findings: readonly Finding[];
}

/**
 * Groups findings by (namespace, owner kind, owner name, symptom), so two hundred crash-looping
 * pods of four Deployments become four groups. Groups come in the order of their first finding.
 */
export function groupByOwner(findings: readonly Finding[]): FindingGroup[] {
  const groups = new Map<string, { group: FindingGroup; members: ObjectRef[]; findings: Finding[] }>();
  for (const finding of findings) {
    const owner = finding.owner ?? { kind: finding.subject.kind, name: finding.subject.name, ...(finding.subject.uid ? { uid: finding.subject.uid } : {}) };
    const namespace = finding.subject.namespace;
    const key = JSON.stringify([namespace ?? '', owner.kind, owner.name, finding.symptom]);
    let entry = groups.get(key);
    if (!entry) {
      const members: ObjectRef[] = [];
      const list: Finding[] = [];
      entry = {
        group: { key, symptom: finding.symptom, ...(namespace ? { namespace } : {}), owner, ownerResolved: finding.owner !== undefined, members, findings: list },
        members,
        findings: list,
      };
      groups.set(key, entry);
    }
    entry.members.push(finding.subject);
    entry.findings.push(finding);
  }
  return [...groups.values()].map((entry) => entry.group);
}
