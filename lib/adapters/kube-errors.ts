import { ApiException } from '@kubernetes/client-node';

/**
 * Kubernetes API errors as people read them. client-node hands the Status body over as a JSON
 * string; its message and causes are what say why (e.g. which disruption budget refused).
 */
interface StatusBody {
  readonly message?: unknown;
  readonly reason?: unknown;
  readonly details?: { readonly causes?: readonly { readonly reason?: unknown; readonly message?: unknown }[] };
}

function statusBody(error: ApiException<unknown>): StatusBody | undefined {
  const body = error.body;
  if (typeof body === 'string') {
    try {
      const parsed: unknown = JSON.parse(body);
      return typeof parsed === 'object' && parsed !== null ? (parsed) : { message: body };
    } catch {
      return { message: body };
    }
  }
  return typeof body === 'object' && body !== null ? (body) : undefined;
}

export const statusCodeOf = (error: unknown): number | undefined => (error instanceof ApiException ? error.code : undefined);

/** "HTTP 429: Cannot evict pod ...; The disruption budget cart needs 2 healthy pods ..." (bounded). */
export function describeKubeError(error: unknown): string {
  if (error instanceof ApiException) {
    const status = statusBody(error);
    const message = typeof status?.message === 'string' ? status.message : '';
    const causes = (status?.details?.causes ?? []).map((c) => (typeof c.message === 'string' ? c.message : '')).filter((m) => m !== '' && !message.includes(m));
    const text = [message, ...causes].filter((m) => m !== '').join('; ');
    return `HTTP ${error.code}${text ? `: ${text.length > 500 ? `${text.slice(0, 500)}…` : text}` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** "the API server answered 404: ..." (bounded): how the model's look-ups say why a read failed. */
export function answeredText(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as { message?: unknown } | string | undefined;
    const detail = typeof body === 'string' ? body : typeof body?.message === 'string' ? body.message : '';
    return `the API server answered ${error.code}${detail ? `: ${detail.slice(0, 300)}` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * A 429 from the Eviction API because a PodDisruptionBudget allows no disruption (cause reason
 * DisruptionBudget), as opposed to API Priority and Fairness throttling, which is also a 429 but
 * means "try again" rather than "no".
 */
export function isDisruptionBudgetRefusal(error: unknown): boolean {
  if (!(error instanceof ApiException) || error.code !== 429) return false;
  const causes = statusBody(error)?.details?.causes ?? [];
  return causes.some((c) => c.reason === 'DisruptionBudget');
}
