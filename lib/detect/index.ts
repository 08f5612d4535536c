/**
 * Scan detection: pure functions over one ClusterSnapshot. No I/O and no SDK here; the adapter
 * lists the objects and maps them with toSnapshot (from-kubernetes.ts).
 */
import { DETECTORS } from './detectors.js';
import { DEFAULT_DETECTOR_SETTINGS, type DetectorSettings, type Finding } from './finding.js';
import type { ClusterSnapshot } from './snapshot.js';

export { DETECTORS, DETECTOR_EVENT_REASONS } from './detectors.js';
export { DEFAULT_DETECTOR_SETTINGS, type Detector, type DetectorSettings, type FactValue, type Finding } from './finding.js';
export { groupByOwner, type FindingGroup } from './group.js';
export type * from './snapshot.js';

export interface DetectionReport {
  readonly findings: Finding[];
  /** Detectors that threw; their findings are missing, the others' are not. */
  readonly errors: { readonly detector: string; readonly message: string }[];
}

// Plain code-unit comparison: localeCompare would make the order depend on the runtime's locale.
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function bySubject(a: Finding, b: Finding): number {
  return (
    compare(a.subject.namespace ?? '', b.subject.namespace ?? '') ||
    compare(a.subject.kind, b.subject.kind) ||
    compare(a.subject.name, b.subject.name) ||
    compare(a.symptom, b.symptom)
  );
}

/** Defaults for anything missing or not a finite, non-negative number (an undefined must not disable a threshold). */
export function withDefaults(settings: Partial<DetectorSettings>): DetectorSettings {
  const effective: Record<string, number> = { ...DEFAULT_DETECTOR_SETTINGS };
  for (const key of Object.keys(DEFAULT_DETECTOR_SETTINGS)) {
    const value: unknown = (settings as Record<string, unknown>)[key];
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) effective[key] = value;
  }
  return effective as unknown as DetectorSettings;
}

/**
 * Runs every detector in DETECTORS order; within a detector, findings are sorted by namespace,
 * kind and name, so the output order does not depend on the API's list order.
 * A detector that throws is reported and skipped: one bad object must not blind the whole scan.
 */
export function runDetectors(snapshot: ClusterSnapshot, settings: Partial<DetectorSettings>, nowMs: number): DetectionReport {
  const effective = withDefaults(settings);
  const findings: Finding[] = [];
  const errors: { detector: string; message: string }[] = [];
  for (const [name, detector] of DETECTORS) {
    try {
      for (const finding of detector(snapshot, effective, nowMs).sort(bySubject)) findings.push(finding);
    } catch (error) {
      errors.push({ detector: name, message: error instanceof Error ? error.message : String(error) });
    }
  }
  return { findings, errors };
}

/** All findings of one snapshot at `nowMs`; settings default to DEFAULT_DETECTOR_SETTINGS. */
export function detectAll(snapshot: ClusterSnapshot, settings: Partial<DetectorSettings>, nowMs: number): Finding[] {
  return runDetectors(snapshot, settings, nowMs).findings;
}
