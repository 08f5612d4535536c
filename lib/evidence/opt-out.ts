import type { MetaLike } from '../domain/kube-objects.js';

/** Opt-out marker, as an annotation or a label, on the target, any owner, or the namespace. */
export const OPT_OUT_KEY = 'k8s-healer.io/opt-out';

/** The object's own metadata opts out (annotation or label set to "true"). */
export function optedOut(meta: MetaLike | undefined): boolean {
  return meta?.annotations?.[OPT_OUT_KEY] === 'true' || meta?.labels?.[OPT_OUT_KEY] === 'true';
}

/** A controller as far as opt-out goes: its own metadata and the pod template it stamps pods from. */
export interface WorkloadLike {
  readonly metadata?: MetaLike;
  readonly spec?: {
    readonly template?: { readonly metadata?: MetaLike };
    /** CronJobs: the pod template is inside the job template. */
    readonly jobTemplate?: { readonly metadata?: MetaLike; readonly spec?: { readonly template?: { readonly metadata?: MetaLike } } };
  };
}

/** Opted out on the object itself, or on the pod template it stamps its pods from (a CronJob's job template too). */
export function workloadOptedOut(kind: string, o: WorkloadLike): boolean {
  if (kind === 'CronJob') return optedOut(o.metadata) || optedOut(o.spec?.jobTemplate?.spec?.template?.metadata) || optedOut(o.spec?.jobTemplate?.metadata);
  return optedOut(o.metadata) || optedOut(o.spec?.template?.metadata);
}
