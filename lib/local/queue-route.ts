import type { Incident } from '../domain/types.js';
import type { VerificationRequest } from '../domain/verification-schema.js';
import { authenticate } from '../intake/webhook.js';
import { parseQueueMessage } from '../pipeline/queue-message.js';
import type { HttpApiHandler } from './http-api.js';

/**
 * `POST /queue` of the local run: the stand-in for SQS SendMessage to the incidents queue, so a
 * message can be put where the worker reads them and meet exactly what it meets on AWS: the
 * whole body parsed as untrusted input (an incident, or a verification naming an action by ids),
 * a bad one refused before anything is read or done. Behind the webhook's bearer token.
 */
export function localQueueRoute(deps: {
  readonly token: string;
  readonly enqueue: (incident: Incident) => Promise<void>;
  readonly verify: (request: VerificationRequest) => Promise<unknown>;
  readonly say: (line: string) => void;
}): HttpApiHandler {
  const answer = (statusCode: number, body: Record<string, unknown>) =>
    Promise.resolve({ statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return async (event) => {
    const auth = authenticate(event.headers.authorization, { token: deps.token });
    if (!auth.ok) return answer(auth.status, { error: auth.error });
    const raw = event.body ?? '';
    const message = parseQueueMessage(event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw);
    if (message.kind === 'invalid') {
      deps.say(`queue: message refused (${message.error}); nothing read, nothing done`);
      return answer(400, { error: message.error });
    }
    if (message.kind === 'incident') {
      await deps.enqueue(message.incident);
      return answer(202, { kind: 'incident', incidentId: message.incident.id });
    }
    const result = await deps.verify(message.request);
    const status = typeof result === 'object' && result !== null && 'status' in result ? (result as { status: string }).status : String(result);
    deps.say(`queue: verification of incident ${message.request.incidentId} (action ${message.request.actionId}, check ${message.request.attempt}): ${status}`);
    return answer(200, { kind: 'verify', result: status });
  };
}
