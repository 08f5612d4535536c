/**
 * `approve` and `reject`: answer an approval link exactly as a human's browser does (a form POST
 * to the approve endpoint), so the same function re-checks the policy on the live cluster and the
 * one write gate acts. The CLI never writes to the cluster itself.
 */
import { CommandFailed, UsageError, type Target } from './target.js';

/** The endpoint and token from a link (or a bare token and the local run's endpoint). */
export function approvalRequest(linkOrToken: string, target: Pick<Target, 'approveUrl'> | undefined): { url: string; token: string } {
  if (/^https?:\/\//.test(linkOrToken)) {
    const url = new URL(linkOrToken);
    const token = url.searchParams.get('token');
    if (!token) throw new UsageError('the link has no token= parameter: paste the whole approval link from the page');
    return { url: `${url.origin}${url.pathname}`, token };
  }
  if (!/^[\w.-]{10,400}$/.test(linkOrToken)) throw new UsageError('not an approval link or token');
  if (!target?.approveUrl) throw new UsageError('a bare token needs the local run (or paste the whole link from the page)');
  return { url: target.approveUrl, token: linkOrToken };
}

export async function answerApproval(req: { url: string; token: string }, decision: 'approve' | 'reject', by: string, write: (s: string) => void = (s) => process.stdout.write(s)): Promise<void> {
  const response = await fetch(req.url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'k8s-healer-cli' },
    body: new URLSearchParams({ token: req.token, decision, by }).toString(),
    signal: AbortSignal.timeout(60_000),
  });
  const html = await response.text();
  const text = (tag: string) => [...html.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) => (m[1] ?? '').replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e] ?? ''));
  const lines = [text('h1')[0] ?? `HTTP ${response.status}`, ...text('p')];
  if (!response.ok) throw new CommandFailed(lines.join('\n'));
  write(`${lines.join('\n')}\n`);
}
