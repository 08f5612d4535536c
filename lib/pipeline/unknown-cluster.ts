import type { Incident, Notification } from '../domain/types.js';
import type { AuditLog, Clock, Notifier } from '../ports/index.js';
import { redact } from '../evidence/redact.js';
import { truncateBytes } from '../evidence/budget.js';

/**
 * A queue message naming a cluster the registry does not hold. Queue messages are untrusted and
 * the registry can change between enqueue and delivery: nothing is read or written anywhere, the
 * refusal is audited and on-call hears, and the message is done (retrying cannot make the
 * cluster known). The cluster name is the sender's text: clipped, redacted, never used as a key.
 */
export async function refuseUnknownCluster(incident: Incident, served: readonly string[], deps: { audit: AuditLog; notifier: Notifier; clock: Clock }): Promise<void> {
  const named = clipName(incident.cluster);
  const reason = `cluster ${JSON.stringify(named)} is not in this stack's registry (${served.join(', ')})`;
  const at = new Date(deps.clock.now()).toISOString();
  await deps.audit.append({ incidentId: incident.id, at, cluster: named, step: 'decision', detail: { allowed: false, deniedBy: 'unknown-cluster', reason, evidenceRead: false } });
  await deps.notifier.notify(unknownClusterPage(incident, reason));
  await deps.audit.append({ incidentId: incident.id, at, cluster: named, step: 'outcome', outcome: 'paged', detail: { outcome: 'paged' } });
}

export function unknownClusterPage(incident: Incident, reason: string): Notification {
  const body = [
    `An incident reached the worker for a cluster this stack does not serve: ${reason}.`,
    'Nothing was read from or changed in any cluster. Check HEALER_CLUSTERS, or who can send to the incident queue.',
    `Incident ${incident.id} (${incident.source}): ${incident.symptom} on ${incident.subject.kind} ${incident.subject.namespace ? `${incident.subject.namespace}/` : ''}${incident.subject.name}`,
  ].join('\n');
  return {
    subject: truncateBytes(redact(`[k8s-healer] Unknown cluster ${clipName(incident.cluster)}: nothing done`), 99),
    body: truncateBytes(redact(body), 8 * 1024),
    severity: 'warning',
    outcome: 'paged',
    cluster: clipName(incident.cluster),
    namespace: incident.subject.namespace,
    incidentId: incident.id,
    eventAction: 'trigger',
  };
}

const clipName = (name: unknown): string => (typeof name === 'string' ? name : String(name)).replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
