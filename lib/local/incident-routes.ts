/**
 * The incident view's routes on the local run's HTTP server: `GET /incidents` (the list, filtered
 * by query parameters as the CLI filters) and `GET /incident?id=…` (one timeline). Bad filters get
 * a 400 page saying which; nothing here writes anything.
 */
import type { IncidentQueries } from '../ports/incidents.js';
import { parseIncidentFilter, summarize } from '../view/incident-summary.js';
import { LIST_PATH, renderIncidentList, renderTimeline, safe } from '../view/incident-page.js';
import type { HttpApiHandler } from './http-api.js';

export const TIMELINE_PATH = '/incident';
export const timelineLink = (id: string) => `${TIMELINE_PATH}?id=${encodeURIComponent(id)}`;

const html = (statusCode: number, body: string) => ({
  statusCode,
  // The pages carry no script; the policy says so to the browser too.
  headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'", 'x-content-type-options': 'nosniff' },
  body,
});

export function incidentViewRoutes(queries: IncidentQueries, now: () => number = Date.now): Record<string, HttpApiHandler> {
  return {
    [`GET ${LIST_PATH}`]: async (event) => {
      const parsed = parseIncidentFilter(event.queryStringParameters ?? {});
      if (!parsed.ok) return html(400, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bad filter</title></head><body><main><h1>Bad filter</h1><p role="alert">${safe(parsed.error)}</p><p><a href="${LIST_PATH}">All incidents</a></p></main></body></html>`);
      return html(200, renderIncidentList(await queries.recent(parsed.filter, now()), parsed.filter, { linkTo: timelineLink }));
    },
    [`GET ${TIMELINE_PATH}`]: async (event) => {
      const id = event.queryStringParameters?.id ?? '';
      const entries = /^[0-9a-f]{8,64}$/.test(id) ? await queries.timeline(id) : [];
      return html(entries.length > 0 ? 200 : 404, renderTimeline(entries, summarize(entries)));
    },
  };
}
