import {
  ApiException,
  AppsV1Api,
  AutoscalingV2Api,
  BatchV1Api,
  CoreV1Api,
  PolicyV1Api,
  type KubeConfig,
  type V1ObjectMeta,
} from '@kubernetes/client-node';
import type { EventEvidence, ObjectRef } from '../domain/types.js';
import { eventsAboutSelector } from '../domain/kube-objects.js';
import { eventEvidenceOf, newestFirst } from '../evidence/events.js';
import { describeKubeError } from './kube-errors.js';

/**
 * The one Kubernetes read layer: evidence (kubernetes.ts), the model's look-ups
 * (kubernetes-investigator.ts) and the scan read through it. It knows how the API answers (404
 * as absent, pages and their continue tokens, events of one object) and nothing of incidents.
 * Timeouts and connection reuse come from the KubeConfig it is built with (BoundedKubeConfig:
 * every request bounded, one undici dispatcher per cluster and identity).
 */

/** Page size of paginated lists: the API server's usual chunk, small enough to map and drop. */
export const LIST_PAGE = 500;

/** Events listed per object before the newest are kept: the API server returns them in name order. */
export const EVENT_PAGE = 200;

export const isStatus = (error: unknown, code: number): boolean => error instanceof ApiException && error.code === code;

/** The answer, or undefined when the API server says 404; any other failure throws. */
export async function orAbsent<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
}

/** A paginated list read whole (items), or not at all (gap): never a partial list. */
export interface Listed<U> {
  readonly items?: U[];
  readonly gap?: string;
}

interface ListPage<T> {
  readonly items: readonly T[];
  readonly metadata?: { readonly _continue?: string };
}

/** Kinds `read` reads one object of: Pod, Node and the controller kinds. */
export const READ_KINDS: readonly string[] = ['Pod', 'Node', 'ReplicaSet', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'];

export class KubeReads {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly batch: BatchV1Api;
  readonly policy: PolicyV1Api;
  readonly autoscaling: AutoscalingV2Api;

  constructor(kubeConfig: KubeConfig, readonly pageSize: number = LIST_PAGE) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.batch = kubeConfig.makeApiClient(BatchV1Api);
    this.policy = kubeConfig.makeApiClient(PolicyV1Api);
    this.autoscaling = kubeConfig.makeApiClient(AutoscalingV2Api);
  }

  /** One object of a READ_KINDS kind (namespace '' for cluster-scoped ones); throws on any failure, 404 included, and for other kinds. */
  read(kind: string, name: string, namespace: string): Promise<{ metadata?: V1ObjectMeta }> {
    switch (kind) {
      case 'Pod': return this.core.readNamespacedPod({ name, namespace });
      case 'Node': return this.core.readNode({ name });
      case 'ReplicaSet': return this.apps.readNamespacedReplicaSet({ name, namespace });
      case 'Deployment': return this.apps.readNamespacedDeployment({ name, namespace });
      case 'StatefulSet': return this.apps.readNamespacedStatefulSet({ name, namespace });
      case 'DaemonSet': return this.apps.readNamespacedDaemonSet({ name, namespace });
      case 'Job': return this.batch.readNamespacedJob({ name, namespace });
      case 'CronJob': return this.batch.readNamespacedCronJob({ name, namespace });
      default: return Promise.reject(new Error(`${kind} objects are not read`));
    }
  }

  /**
   * The newest `limit` events about one object, redacted (lib/evidence/events.ts), newest first.
   * A cluster-scoped object's events (a Node's) live in whichever namespace the reporter used
   * (usually "default"), so they are listed across namespaces. Throws when the list fails.
   */
  async eventsOf(object: Pick<ObjectRef, 'kind' | 'name' | 'namespace'>, limit: number): Promise<EventEvidence[]> {
    const fieldSelector = eventsAboutSelector(object.kind, object.name);
    const page = Math.max(EVENT_PAGE, limit);
    const list = object.namespace
      ? await this.core.listNamespacedEvent({ namespace: object.namespace, fieldSelector, limit: page })
      : await this.core.listEventForAllNamespaces({ fieldSelector, limit: page });
    return newestFirst(list.items.map((e) => eventEvidenceOf(e, `${object.kind}/${object.name}`))).slice(0, limit);
  }

  /** Every page of one list, whole or a gap (listAllPages), in pages of this reader's size. */
  listAll<T, U>(what: string, list: (page: { limit: number; _continue: string | undefined }) => Promise<ListPage<T>>, map: (item: T) => U | undefined): Promise<Listed<U>> {
    return listAllPages(what, this.pageSize, list, map);
  }
}

/**
 * Every page of one list, each mapped as it arrives so its raw objects can be dropped. A failure
 * makes the list a gap (no items), never a partial list that would read as "these are all". An
 * expired continue token (410: etcd compacted past the list's snapshot) restarts the list once.
 */
export async function listAllPages<T, U>(
  what: string,
  pageSize: number,
  list: (page: { limit: number; _continue: string | undefined }) => Promise<ListPage<T>>,
  map: (item: T) => U | undefined,
): Promise<Listed<U>> {
  const out: U[] = [];
  let continueToken: string | undefined;
  let restarted = false;
  for (;;) {
    let page: ListPage<T>;
    try {
      page = await list({ limit: pageSize, _continue: continueToken });
    } catch (error) {
      if (isStatus(error, 410) && continueToken !== undefined && !restarted) {
        restarted = true;
        out.length = 0;
        continueToken = undefined;
        continue;
      }
      return { gap: `${what} not listed: ${describeKubeError(error)}` };
    }
    for (const item of page.items) {
      const mapped = map(item);
      if (mapped !== undefined) out.push(mapped);
    }
    continueToken = page.metadata?._continue || undefined;
    if (!continueToken) return { items: out };
  }
}
