/**
 * Small facts about Kubernetes objects that several readers need (evidence, investigation, the
 * scan, verification). Structural types, so client-node objects and plain test data both fit; no
 * SDK import.
 */

export interface OwnerRefLike {
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
}

export interface MetaLike {
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly OwnerRefLike[];
}

/** The ownerReference with `controller: true`: the only owner that matters for owner chains. */
export function controllerOf(meta: MetaLike | undefined): OwnerRefLike | undefined {
  return meta?.ownerReferences?.find((o) => o.controller === true);
}

/** The condition of that type says "True" (Ready on a pod or a node, Available, ...). */
export function isConditionTrue(conditions: readonly { readonly type: string; readonly status: string }[] | undefined, type: string): boolean {
  return conditions?.some((c) => c.type === type && c.status === 'True') === true;
}

/** A pod or node whose Ready condition is True. */
export const isReady = (o: { readonly status?: { readonly conditions?: readonly { readonly type: string; readonly status: string }[] } } | undefined): boolean =>
  isConditionTrue(o?.status?.conditions, 'Ready');

/**
 * A selector's matchLabels as a label-selector string ("app=cart,tier=web"); '' when it has none.
 * matchExpressions are left out, so the list is a superset; callers match or filter by owner.
 */
export function labelSelectorOf(selector: { readonly matchLabels?: Readonly<Record<string, string>> } | undefined): string {
  return Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
}

/** The pods a Job controls (the label the Job controller stamps on them). */
export const jobPodSelector = (jobUid: string): string => `controller-uid=${jobUid}`;

/** The field selector of the events about one object. */
export const eventsAboutSelector = (kind: string, name: string): string => `involvedObject.kind=${kind},involvedObject.name=${name}`;

/** Timestamps arrive as Date (Time) or, for MicroTime fields such as eventTime, as strings; invalid ones are dropped. */
export function isoTime(value: unknown): string | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  if (typeof value === 'string' && value.length > 0) return value;
  return undefined;
}

/** "Deployment shop/cart", "Node n1": how the gaps and pages name an object. */
export const refWhere = (kind: string, namespace: string, name: string): string => `${kind} ${namespace ? `${namespace}/` : ''}${name}`;

/**
 * An event in either shape: core/v1 counts and timestamps, or an events.k8s.io series and an
 * eventTime. The fallbacks between the two are here and only here (evidence, look-ups, scan).
 */
export interface EventLike {
  readonly count?: number;
  readonly series?: { readonly count?: number; readonly lastObservedTime?: unknown };
  readonly lastTimestamp?: unknown;
  readonly firstTimestamp?: unknown;
  readonly eventTime?: unknown;
}

/** When the event was last and first seen: the series' last observation, else lastTimestamp, else eventTime. */
export function eventTimes(e: EventLike): { last?: string; first?: string } {
  const last = isoTime(e.series?.lastObservedTime) ?? isoTime(e.lastTimestamp) ?? isoTime(e.eventTime);
  const first = isoTime(e.firstTimestamp) ?? isoTime(e.eventTime);
  return { ...(last ? { last } : {}), ...(first ? { first } : {}) };
}

/** How often it happened, when the event says: the series' count (newer reporters), else the core/v1 count. */
export const eventCount = (e: EventLike): number | undefined => e.series?.count ?? e.count;
