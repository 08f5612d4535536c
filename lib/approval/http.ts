import type { ApprovalStore } from '../ports/index.js';
import type { RemediateDeps } from '../pipeline/remediate.js';
import { approve, reject, previewApproval, type ApprovalResult, type ClusterDepsFor } from '../pipeline/approval.js';

/**
 * The approval endpoint's HTTP shape, free of Lambda types so `npm start` serves it too.
 * GET never changes anything; only a POST of the confirmation form uses the approval.
 */
export interface ApprovalHttpRequest {
  readonly method: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string | undefined;
  readonly isBase64Encoded: boolean;
  readonly sourceIp?: string | undefined;
  readonly userAgent?: string | undefined;
  readonly principal?: string | undefined;
}

export interface ApprovalHttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export type ApprovalHttpDeps = RemediateDeps & { readonly approvalStore: ApprovalStore; readonly approvalKey: Uint8Array | undefined; readonly forCluster?: ClusterDepsFor };

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

function page(statusCode: number, title: string, paragraphs: readonly string[], form?: string): ApprovalHttpResponse {
  const body = `<!doctype html><html><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('')}${form ?? ''}</body></html>`;
  return {
    statusCode,
    // No caching and no referrer: the token is in the URL.
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY' },
    body,
  };
}

const STATUS_OF: Record<ApprovalResult['status'], number> = {
  acted: 200,
  'action-failed': 502,
  'refused-by-policy': 409,
  changed: 409,
  invalid: 400,
  tampered: 403,
  expired: 410,
  used: 410,
  rejected: 200,
};

/** The form's token and decision ("approve" unless the form says "reject"), or undefined. */
function formOf(req: ApprovalHttpRequest): { token: string; decision: 'approve' | 'reject'; by?: string } | { error: string } | undefined {
  const type = (req.headers['content-type'] ?? req.headers['Content-Type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded' || req.body === undefined) return undefined;
  const raw = req.isBase64Encoded ? Buffer.from(req.body, 'base64').toString('utf8') : req.body;
  if (raw.length > 4096) return undefined;
  const form = new URLSearchParams(raw);
  const token = form.get('token');
  if (token === null) return undefined;
  const decision = form.get('decision') ?? 'approve';
  if (decision !== 'approve' && decision !== 'reject') return { error: `decision must be "approve" or "reject", not ${JSON.stringify(decision.slice(0, 20))}` };
  const by = form.get('by') ?? undefined;
  return { token, decision, ...(by ? { by } : {}) };
}

export async function handleApprovalRequest(req: ApprovalHttpRequest, deps: ApprovalHttpDeps): Promise<ApprovalHttpResponse> {
  const key = deps.approvalKey;
  if (!key) return page(503, 'Approvals are not configured', ['Set HEALER_APPROVAL_KEY_PARAM (or HEALER_APPROVAL_KEY) and HEALER_APPROVAL_URL.']);
  const now = deps.clock.now();
  if (req.method === 'GET') {
    const preview = await previewApproval(req.query['token'], deps.approvalStore, key, now);
    if (!preview.ok) return page(STATUS_OF[preview.status], 'This approval link cannot be used', [preview.detail]);
    const { record } = preview;
    const hidden = `<input type="hidden" name="token" value="${escapeHtml(req.query['token'] ?? '')}">`;
    const form = `<form method="post">${hidden}<input type="hidden" name="decision" value="approve"><button type="submit">Approve: ${escapeHtml(record.plan.summary)}</button></form>`
      + `<form method="post">${hidden}<input type="hidden" name="decision" value="reject"><button type="submit">Reject: do nothing</button></form>`;
    return page(200, 'Approve this action?', [
      `${record.plan.summary} (cluster ${record.incident.cluster}).`,
      `Incident: ${record.incident.symptom} on ${record.incident.subject.kind} ${record.incident.subject.namespace ? `${record.incident.subject.namespace}/` : ''}${record.incident.subject.name}.`,
      `Diagnosis: ${record.diagnosis.summary}`,
      `The link expires at ${new Date(record.expiresAtMs).toISOString()} and works once. The policy is checked again on the live cluster before anything is done; if the target changed since, nothing is done.`,
    ], form);
  }
  if (req.method !== 'POST') return { statusCode: 405, headers: { allow: 'GET, POST', 'content-type': 'text/plain' }, body: 'method not allowed' };
  const form = formOf(req);
  if (form === undefined) return page(400, 'Not an approval', ['Expected a form POST with the approval token.']);
  if ('error' in form) return page(400, 'Not an approval', [form.error]);
  const approver: Record<string, string> = {
    ...(req.principal ? { principal: req.principal } : {}),
    ...(req.sourceIp ? { sourceIp: req.sourceIp } : {}),
    ...(req.userAgent ? { userAgent: req.userAgent } : {}),
    // Who the caller says they are (the CLI's --as): recorded, never trusted for anything.
    ...(form.by ? { claimedBy: form.by } : {}),
    via: 'approval link',
  };
  const result = form.decision === 'reject'
    ? await reject(form.token, approver, { ...deps, approvalKey: key })
    : await approve(form.token, approver, { ...deps, approvalKey: key });
  const title = result.status === 'rejected' ? 'Rejected: nothing was done' : result.status === 'acted' ? 'Approved and done' : result.status === 'action-failed' ? 'Approved, but the action failed' : 'Nothing was done';
  return page(STATUS_OF[result.status], title, [result.detail, ...(result.incidentId ? [`Incident ${result.incidentId}`] : [])]);
}
