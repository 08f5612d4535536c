/**
 * Finds instruction-like text in cluster data (logs, events, alert text). Such text is data to
 * us, but a model may obey it; when it is present, policy refuses every action and the page shows
 * what was found, so a human decides. Patterns are linear (literal-led, bounded gaps).
 */
import type { Diagnosis, Evidence, Incident } from '../domain/types.js';

const MARKERS: readonly RegExp[] = [
  /\b(?:ignore|disregard|forget|override)\b.{0,40}?\b(?:previous|prior|above|earlier|all|any|your|system)\b.{0,20}?\b(?:instructions?|prompts?|rules|guidelines|directives)\b/i,
  /\b(?:new|updated|real|actual)\s+(?:system\s+)?instructions?\s*:/i,
  /\bsystem\s+prompt\b/i,
  /\byou\s+are\s+now\b/i,
  /\b(?:as\s+an?\s+)?(?:ai|llm|language\s+model|assistant)\b.{0,40}?\b(?:must|should|shall)\b/i,
  /<\/?\s*(?:untrusted-data|system|instructions?|assistant|human|user)\b[^>]{0,40}>/i,
  /\b(?:submit_verdict|tool_use|recommendation"?\s*[:=])/i,
  /\b(?:kubectl\s+(?:delete|drain|scale|cordon|patch|exec)|drain\s+the\s+node|delete\s+the\s+(?:deployment|namespace|cluster))\b/i,
];

const EXCERPT_CHARS = 120;
const MAX_FINDINGS = 5;

/** Short excerpts around each instruction-like passage, at most a few. Input should be redacted. */
export function findInjectionMarkers(texts: readonly (string | undefined)[]): string[] {
  const found: string[] = [];
  for (const text of texts) {
    if (!text) continue;
    for (const pattern of MARKERS) {
      const match = pattern.exec(text);
      if (!match) continue;
      const start = Math.max(0, match.index - 20);
      const excerpt = text.slice(start, Math.min(text.length, match.index + match[0].length + 20)).replace(/\s+/g, ' ').trim();
      const short = excerpt.length > EXCERPT_CHARS ? `${excerpt.slice(0, EXCERPT_CHARS)}…` : excerpt;
      if (!found.includes(short)) found.push(short);
      if (found.length >= MAX_FINDINGS) return found;
    }
  }
  return found;
}

/** The cluster text of one incident that could carry instructions: logs, events, alert text. */
export function injectionMarkersOf(incident: Incident, evidence: Evidence): string[] {
  return findInjectionMarkers([
    ...evidence.containers.flatMap((c) => [c.previousLogTail, c.currentLogTail]),
    ...evidence.events.map((e) => e.message),
    ...Object.values(incident.annotations),
    ...Object.values(incident.labels),
  ]);
}

/** The evidence's markers and those of the text the model read through its look-ups, once each. */
export function withLookupMarkers(evidenceMarkers: readonly string[], diagnosis: Pick<Diagnosis, 'injectionMarkers'>): string[] {
  const all = [...evidenceMarkers];
  for (const marker of diagnosis.injectionMarkers ?? []) if (!all.includes(marker)) all.push(marker);
  return all;
}
