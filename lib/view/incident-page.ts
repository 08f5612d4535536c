/**
 * The incident view as HTML: the list (with the CLI's filters) and one incident's timeline. Pure
 * and self-contained (no script, no outside assets), so the same pages are served by the local
 * run and written as a static report. Every string passes the one redaction step and is escaped:
 * audit text is cluster text, untrusted, and already redacted once when it was stored.
 */
import type { AuditEntry } from '../domain/types.js';
import { redact } from '../evidence/redact.js';
import { OUTCOMES, type IncidentFilter, type IncidentSummary } from './incident-summary.js';

export { OUTCOMES };


const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Redacted, then HTML-escaped: the only way text reaches a page. */
export const safe = (value: string): string => redact(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header,main{max-width:70rem;margin:0 auto;padding:0 1rem}
header{padding-top:1rem}
a{color:#0b57d0}
a:focus,button:focus,input:focus,select:focus,summary:focus{outline:3px solid #e8710a;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:.5rem;background:#fff;padding:.25rem .5rem}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #d8dde3;vertical-align:top}
caption{text-align:left;font-weight:600;padding:.5rem 0}
form{display:flex;gap:.75rem;flex-wrap:wrap;align-items:end;margin:1rem 0}
label{display:flex;flex-direction:column;font-size:.85rem}
ol.timeline{list-style:none;padding:0}
ol.timeline>li{background:#fff;border-left:4px solid #8a94a6;margin:.6rem 0;padding:.5rem .75rem}
ol.timeline>li.bad{border-color:#c5221f}ol.timeline>li.good{border-color:#188038}
pre{white-space:pre-wrap;word-break:break-word;background:#f1f3f4;padding:.5rem;max-height:24rem;overflow:auto}
.muted{color:#5f6368}
`;

function page(title: string, body: string, home = LIST_PATH): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${safe(title)}</title><style>${STYLE}</style></head>`,
    '<body><a class="skip" href="#main">Skip to content</a>',
    `<header><a href="${safe(home)}">k8s-healer incidents</a></header>`,
    `<main id="main">${body}</main></body></html>`,
  ].join('\n');
}

export const LIST_PATH = '/incidents';
export const incidentPath = (id: string) => `${LIST_PATH}/${encodeURIComponent(id)}`;

/** The incident list: a filter form (plain GET, works without script) and a table. */
export function renderIncidentList(incidents: readonly IncidentSummary[], filter: IncidentFilter, o: { linkTo?: (id: string) => string; formless?: boolean; title?: string } = {}): string {
  const linkTo = o.linkTo ?? incidentPath;
  const option = (v: string) => `<option value="${safe(v)}"${filter.outcome === v ? ' selected' : ''}>${safe(v)}</option>`;
  const form = [
    `<form method="get" action="${LIST_PATH}" aria-label="Filter incidents">`,
    `<label>Namespace<input name="namespace" value="${safe(filter.namespace ?? '')}"></label>`,
    `<label>Outcome<select name="outcome"><option value="">any</option>${OUTCOMES.map(option).join('')}</select></label>`,
    `<label>Since (ISO time)<input name="since" value="${safe(filter.since ?? '')}" placeholder="2026-12-05T00:00:00Z"></label>`,
    '<button type="submit">Filter</button></form>',
  ].join('');
  const rows = incidents.map((s) => `<tr><td><a href="${safe(linkTo(s.id))}">${safe(s.subject)}</a></td><td>${safe(s.namespace)}</td><td>${safe(s.symptom)}</td><td>${safe(s.source)}</td><td>${safe(s.outcome ?? 'in progress')}</td><td><time datetime="${safe(s.at)}">${safe(s.at)}</time></td><td>${safe(s.cluster)}</td></tr>`);
  const table = incidents.length === 0
    ? '<p role="status">No incidents match.</p>'
    : `<table><caption>${incidents.length} incident${incidents.length === 1 ? '' : 's'}, newest first</caption><thead><tr><th scope="col">Subject</th><th scope="col">Namespace</th><th scope="col">Symptom</th><th scope="col">Source</th><th scope="col">Outcome</th><th scope="col">Detected</th><th scope="col">Cluster</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  const shown = o.formless ? `<p class="muted">${safe(describeFilter(filter))}</p>` : form;
  return page(`${o.title ?? 'Incidents'} — k8s-healer`, `<h1>${safe(o.title ?? 'Incidents')}</h1>${shown}${table}`, o.formless ? '#main' : LIST_PATH);
}

const describeFilter = (f: IncidentFilter) =>
  `Filter: ${[f.namespace ? `namespace ${f.namespace}` : '', f.outcome ? `outcome ${f.outcome}` : '', f.since ? `since ${f.since}` : 'the last 7 days', `at most ${f.limit ?? 100}`].filter(Boolean).join(', ')}`;

const TITLES: Record<AuditEntry['step'], string> = {
  intake: 'Detected', evidence: 'Evidence', diagnosis: 'Diagnosis', decision: 'Policy', action: 'Action',
  verification: 'Verification', approval: 'Approval', notification: 'Page sent', outcome: 'Outcome',
};

const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));
const ref = (v: unknown) => {
  const o = (v ?? {}) as Record<string, unknown>;
  return `${str(o.kind)} ${o.namespace ? `${str(o.namespace)}/` : ''}${str(o.name)}`;
};
const list = (items: readonly string[]) => (items.length === 0 ? '' : `<ul>${items.map((i) => `<li>${safe(i)}</li>`).join('')}</ul>`);
const verdictTable = (v: unknown) => {
  const verdicts = Array.isArray(v) ? (v as { rule?: unknown; reason?: unknown }[]) : [];
  if (verdicts.length === 0) return '';
  const rows = verdicts.map((r) => `<tr><td>${safe(str(r.rule))}</td><td>${r.reason === null || r.reason === undefined ? 'pass' : `<strong>denies</strong>: ${safe(str(r.reason))}`}</td></tr>`);
  return `<table><caption>Each rule's verdict, in order</caption><thead><tr><th scope="col">Rule</th><th scope="col">Verdict</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
};

/** The headline and the body of one step, from the fields each step records. */
function stepBody(e: AuditEntry): { headline: string; html: string; tone?: 'good' | 'bad' } {
  const d = e.detail;
  switch (e.step) {
    case 'intake':
      return { headline: `${str(d.symptom)} on ${ref(d.subject)} (${str(d.source)}${d.alertname ? `: ${str(d.alertname)}` : ''})`, html: '' };
    case 'evidence': {
      if (d.evidenceRead === false) return { headline: 'not read: a protected or opted-out place', html: '' };
      const containers = Array.isArray(d.containers) ? (d.containers as Record<string, unknown>[]) : [];
      const events = Array.isArray(d.events) ? d.events.length : 0;
      const lines = [
        `owner chain: ${Array.isArray(d.ownerChain) ? d.ownerChain.map(str).join(' ← ') : '?'}`,
        ...containers.map((c) => `container ${str(c.name)}: ready=${str(c.ready)} restarts=${str(c.restartCount)}${c.waitingReason ? ` waiting=${str(c.waitingReason)}` : ''}`),
        ...(Array.isArray(d.gaps) && d.gaps.length > 0 ? [`could not read: ${d.gaps.map(str).join('; ')}`] : []),
      ];
      const logs = containers.filter((c) => typeof c.previousLogTail === 'string' && c.previousLogTail !== '')
        .map((c) => `<h4>Previous log of ${safe(str(c.name))} (redacted)</h4><pre>${safe(str(c.previousLogTail))}</pre>`);
      return { headline: `${containers.length} container(s), ${events} event(s)`, html: list(lines) + logs.join('') };
    }
    case 'diagnosis': {
      const usage = (d.usage ?? {}) as Record<string, unknown>;
      const lookups = Array.isArray(usage.lookups) ? usage.lookups.map(str) : [];
      const lines = [
        `root cause: ${str(d.rootCause)}`,
        `recommendation: ${str(d.recommendation)}${d.target ? ` on ${ref(d.target)}` : ''}`,
        ...(Array.isArray(d.evidenceCited) ? d.evidenceCited.map((c) => `cites: ${str(c)}`) : []),
        ...(d.fallbackReason ? [`model not used: ${str(d.fallbackReason)}`] : []),
        ...(usage.inputTokens !== undefined ? [`model usage: ${str(usage.inputTokens)} input / ${str(usage.outputTokens)} output tokens${usage.costUsd !== undefined ? `, $${str(usage.costUsd)}` : ''}`] : []),
      ];
      const lookupHtml = lookups.length > 0 ? `<h4>The model's look-ups</h4>${list(lookups)}` : '';
      return { headline: `${str(d.diagnoser)}${d.model ? ` (${str(d.model)})` : ''}: ${str(d.category)}, confidence ${str(d.confidence)} — ${str(d.summary)}`, html: list(lines) + lookupHtml };
    }
    case 'decision':
      return {
        headline: d.allowed === true ? `allowed${d.approvalRequired === true ? ', needs approval' : ''}${d.dryRun === true ? ' (dry run)' : ''}` : `denied by ${str(d.deniedBy)}: ${str(d.reason)}`,
        html: verdictTable(d.verdicts),
        tone: d.allowed === true ? 'good' : 'bad',
      };
    case 'action':
      return {
        headline: `${str(d.action ?? (d.plan as Record<string, unknown> | undefined)?.action)} on ${ref(d.target ?? (d.plan as Record<string, unknown> | undefined)?.target)}: ${d.ok === true ? 'done' : d.allowed === false ? 'refused by the write gate' : 'failed'}${d.dryRun === true ? ' (dry run)' : ''}`,
        html: list([str(d.detail)].filter(Boolean)) + verdictTable(d.verdicts),
        tone: d.ok === true ? 'good' : 'bad',
      };
    case 'verification':
      return { headline: `check ${str(d.attempt)}: ${str(d.status)}`, html: list([str(d.detail)].filter(Boolean)), ...(d.status === 'done' ? { tone: 'good' as const } : d.status === 'failed' ? { tone: 'bad' as const } : {}) };
    case 'notification':
      return { headline: `${str(d.severity)}: ${str(d.subject)}`, html: '' };
    case 'approval':
      return {
        headline: d.rejected !== undefined ? `rejected by ${str(d.approver)}: ${str(d.rejected)}` : d.refused !== undefined ? `refused: ${str(d.refused)}` : d.approved !== undefined ? `approved by ${str(d.approver) || 'unknown'}: ${str(d.approved)}` : d.requested !== undefined ? `requested: ${str(d.requested)}` : 'recorded',
        html: list([str(d.detail)].filter(Boolean)),
        ...(d.refused !== undefined || d.rejected !== undefined ? { tone: 'bad' as const } : {}),
      };
    case 'outcome':
      return { headline: str(e.outcome ?? d.outcome), html: '', ...(e.outcome === 'acted' ? { tone: 'good' as const } : e.outcome === 'action-failed' ? { tone: 'bad' as const } : {}) };
  }
}

/** One incident's timeline: every audit entry in order, each with what it recorded. */
export function renderTimeline(entries: readonly AuditEntry[], summary: IncidentSummary | undefined, o: { backTo?: string } = {}): string {
  if (!summary) return page('Incident not found — k8s-healer', `<h1>Incident not found</h1><p><a href="${safe(o.backTo ?? LIST_PATH)}">Back to the incidents</a></p>`);
  return page(`${summary.symptom} ${summary.subject} — k8s-healer`, timelineSection(entries, summary, { heading: 'h1', backTo: o.backTo ?? LIST_PATH }));
}

/**
 * A static report for a deployed stage (`k8s-healer report`): the list and every listed incident's
 * timeline in one self-contained file, linked by anchors.
 */
export function renderReport(incidents: readonly { summary: IncidentSummary; entries: readonly AuditEntry[] }[], filter: IncidentFilter, o: { title: string }): string {
  const anchor = (id: string) => `#incident-${id}`;
  const list = renderIncidentList(incidents.map((i) => i.summary), filter, { linkTo: anchor, formless: true, title: o.title });
  const sections = incidents.map((i) => `<section id="incident-${safe(i.summary.id)}" aria-label="Incident ${safe(i.summary.id)}">${timelineSection(i.entries, i.summary, { heading: 'h2', backTo: '#main' })}</section>`);
  return list.replace('</main></body></html>', `${sections.join('')}</main></body></html>`);
}

function timelineSection(entries: readonly AuditEntry[], summary: IncidentSummary, o: { heading: 'h1' | 'h2'; backTo: string }): string {
  const sub = o.heading === 'h1' ? 'h2' : 'h3';
  const item = o.heading === 'h1' ? 'h3' : 'h4';
  const items = entries.map((e) => {
    const { headline, html, tone } = stepBody(e);
    return `<li${tone ? ` class="${tone}"` : ''}><${item}><time datetime="${safe(e.at)}">${safe(e.at)}</time> · ${safe(TITLES[e.step])}: ${safe(headline)}</${item}>${html}<details><summary>Recorded detail</summary><pre>${safe(JSON.stringify(e.detail, null, 2))}</pre></details></li>`;
  });
  const head = `<${o.heading}>${safe(summary.symptom)} on ${safe(summary.subject)}</${o.heading}><p class="muted">Incident ${safe(summary.id)} · namespace ${safe(summary.namespace)} · cluster ${safe(summary.cluster)} · outcome <strong>${safe(summary.outcome ?? 'in progress')}</strong></p><p><a href="${safe(o.backTo)}">Back to the incidents</a></p>`;
  return `${head}<${sub}>Timeline</${sub}><ol class="timeline">${items.join('')}</ol>`;
}

/** One line per audit entry, for terminals (the CLI's `show`): the same words as the page. */
export const stepLine = (e: AuditEntry): { step: string; headline: string } => ({ step: TITLES[e.step], headline: stepBody(e).headline });
