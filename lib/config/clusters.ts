import * as z from '../util/schema.js';
import { onFirstUse } from '../util/schema.js';
import { ACTION_IDS } from '../domain/types.js';
import type { Settings } from './config.js';

/**
 * The cluster registry: which Kubernetes clusters this stack serves, how to reach each, and how
 * each narrows the stack's policy. Pure: parsed from text (HEALER_CLUSTERS) or built from the
 * single-cluster settings, validated whole, frozen. A bad registry is an error at start, so a
 * stack with a registry it cannot read acts on nothing.
 */

/** Where the functions sign in to an EKS cluster with their own IAM role. */
/** EKS sign-in: endpoint and CA as configured, or both left out and asked of EKS (DescribeCluster) on first use. */
export type EksSettings = Readonly<{ clusterName: string; endpoint?: string; caData?: string; region: string }>;

/** An EKS API endpoint as `aws eks describe-cluster --query cluster.endpoint` prints it. */
export const EKS_ENDPOINT = /^https:\/\/[^/\s]+\/?$/;

/** A CA as EKS hands it out: the base64 of a PEM certificate. */
export function isPemCertificateBase64(value: string): boolean {
  return Buffer.from(value, 'base64').toString('utf8').includes('-----BEGIN CERTIFICATE-----');
}

export type ClusterEntry = Readonly<{
  /** The name alerts carry in their `cluster` label, and every key, audit entry and page. */
  name: string;
  /** EKS sign-in with the function's own role; exclusive with kubeconfigParam. */
  eks: EksSettings | undefined;
  /** SSM SecureString with the acting identity's kubeconfig. */
  kubeconfigParam: string | undefined;
  /** SSM SecureString with the scan's list-only kubeconfig (the scan never reads kubeconfigParam). */
  scanKubeconfigParam: string | undefined;
  /**
   * SSM SecureString with this cluster's own webhook bearer token. A request carrying it is this
   * cluster's: its alerts may name no other (a rule label `cluster: B` in A's Prometheus reaches
   * nothing of B's).
   */
  webhookTokenParam: string | undefined;
  /**
   * The stack's settings narrowed by this entry's overrides. Overrides may only narrow (see
   * narrowSettings): a registry entry must never be a way around the stack's protected namespaces,
   * kill switch or dry run, because whoever edits one entry should not loosen what review of the
   * stack's settings promised.
   */
  settings: Settings;
}>;

/**
 * Safe in keys (`cooldown#<cluster>/<ns>/…`), log lines and page subjects: no `/`, `#`, spaces or
 * control characters, so two clusters' keys can never run into each other. EKS names fit it.
 */
export const CLUSTER_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
export const isClusterName = (s: string): boolean => CLUSTER_NAME.test(s);

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A whole number of at least `min`. */
const count = (min: number) => z.optional(z.number().check(z.int(), z.gte(min)));
/** A share in [0, 1]. */
const share = () => z.optional(z.number().check(z.gte(0), z.lte(1)));

/** Every override a cluster may set; anything else is refused (a typo must not be ignored). */
const overridesSchema = () => z.strictObject({
  dryRun: z.optional(z.boolean()),
  killSwitch: z.optional(z.boolean()),
  /** Added to the stack's protected namespaces, never replacing them. */
  deniedNamespaces: z.optional(z.array(z.string().check(z.maxLength(63), z.regex(DNS_LABEL, 'expected a namespace name'))).check(z.maxLength(100))),
  diagnoseProtected: z.optional(z.boolean()),
  minConfidence: share(),
  maxActionsPerNamespacePerHour: count(0),
  maxActionsPerClusterPerHour: count(0),
  circuitBreakerCount: count(0),
  maxCordonedNodeShare: share(),
  scaleMaxReplicas: count(1),
  scaleMaxStep: count(1),
  scaleMaxStepPercent: count(1),
  /** Added to the stack's approval-needing actions. */
  approvalActions: z.optional(z.array(z.enum(ACTION_IDS))),
});

export type ClusterOverrides = z.infer<ReturnType<typeof overridesSchema>>;

/** Built on first use: only a stack with HEALER_CLUSTERS parses a registry. */
const registrySchema = onFirstUse(() => {
  const trimmed = z.string().check(z.trim(), z.minLength(1));
  const eks = z.strictObject({
    clusterName: trimmed.check(z.maxLength(100)),
    endpoint: z.optional(trimmed.check(z.regex(EKS_ENDPOINT, 'expected https://<host> (aws eks describe-cluster --query cluster.endpoint)'))),
    caData: z.optional(trimmed.check(z.refine(isPemCertificateBase64, 'expected the base64 of a PEM certificate'))),
    region: z.optional(trimmed.check(z.maxLength(50))),
  });
  const ssmName = trimmed.check(z.maxLength(2048), z.regex(/^\/[A-Za-z0-9_.\-/]+$/, 'expected an SSM parameter name starting with /'));
  const entry = z.strictObject({
    name: z.string().check(z.regex(CLUSTER_NAME, 'expected 1-63 letters, digits, ".", "_" or "-", starting and ending with a letter or digit')),
    eks: z.optional(eks),
    kubeconfigParam: z.optional(ssmName),
    scanKubeconfigParam: z.optional(ssmName),
    webhookTokenParam: z.optional(ssmName),
    policy: z.optional(overridesSchema()),
  });
  return z.array(entry).check(z.minLength(1, 'expected at least one cluster'), z.maxLength(50));
});

/** What may differ per cluster, how: each override either equals the stack or is stricter. */
export function narrowSettings(stack: Settings, o: ClusterOverrides): { settings: Settings; problems: string[] } {
  const problems: string[] = [];
  const looser = (key: string, why: string) => problems.push(`policy.${key}: ${why}; a cluster may only narrow the stack's policy`);
  const { policy, budgets, scale, approval } = stack;
  if (o.dryRun === false && policy.dryRun) looser('dryRun', 'false would turn off the stack\'s dry run');
  if (o.killSwitch === false && policy.killSwitch) looser('killSwitch', 'false would turn off the stack\'s kill switch');
  if (o.diagnoseProtected === true && !policy.diagnoseProtected) looser('diagnoseProtected', 'true would send protected places to the model');
  const atMost = (key: keyof ClusterOverrides, value: number | undefined, limit: number): number => {
    if (value === undefined) return limit;
    if (value > limit) looser(key, `${value} is above the stack's ${limit}`);
    return Math.min(value, limit);
  };
  const minConfidence = o.minConfidence ?? policy.minConfidence;
  if (minConfidence < policy.minConfidence) looser('minConfidence', `${minConfidence} is below the stack's ${policy.minConfidence}`);
  const settings: Settings = Object.freeze({
    ...stack,
    policy: Object.freeze({
      ...policy,
      dryRun: policy.dryRun || o.dryRun === true,
      killSwitch: policy.killSwitch || o.killSwitch === true,
      deniedNamespaces: Object.freeze([...new Set([...policy.deniedNamespaces, ...(o.deniedNamespaces ?? [])])]),
      diagnoseProtected: policy.diagnoseProtected && o.diagnoseProtected !== false,
      minConfidence: Math.max(minConfidence, policy.minConfidence),
      maxCordonedNodeShare: atMost('maxCordonedNodeShare', o.maxCordonedNodeShare, policy.maxCordonedNodeShare),
    }),
    budgets: Object.freeze({
      ...budgets,
      maxActionsPerNamespacePerHour: atMost('maxActionsPerNamespacePerHour', o.maxActionsPerNamespacePerHour, budgets.maxActionsPerNamespacePerHour),
      maxActionsPerClusterPerHour: atMost('maxActionsPerClusterPerHour', o.maxActionsPerClusterPerHour, budgets.maxActionsPerClusterPerHour),
      circuitBreakerCount: atMost('circuitBreakerCount', o.circuitBreakerCount, budgets.circuitBreakerCount),
    }),
    scale: Object.freeze({
      maxReplicas: atMost('scaleMaxReplicas', o.scaleMaxReplicas, scale.maxReplicas),
      maxStep: atMost('scaleMaxStep', o.scaleMaxStep, scale.maxStep),
      maxStepPercent: atMost('scaleMaxStepPercent', o.scaleMaxStepPercent, scale.maxStepPercent),
    }),
    approval: Object.freeze({ ...approval, actions: Object.freeze([...new Set([...approval.actions, ...(o.approvalActions ?? [])])]) }),
  });
  return { settings, problems };
}

export type RegistryResult = { ok: true; clusters: readonly ClusterEntry[] } | { ok: false; problems: string[] };

/**
 * HEALER_CLUSTERS: a JSON list of `{name, eks?: {clusterName, endpoint?, caData?, region?},
 * kubeconfigParam?, scanKubeconfigParam?, webhookTokenParam?, policy?: {...}}`. Names are unique ignoring case (two
 * entries that differ only in case would be one cluster to a human reading a page). An entry
 * with neither eks nor kubeconfigParam uses the default kubeconfig: allowed only when it is the
 * only entry (a developer's machine), since two such entries would reach the same cluster.
 */
export function parseClusterRegistry(text: string, stack: Settings, defaultRegion: string | undefined): RegistryResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problems: ['is not valid JSON'] };
  }
  const parsed = registrySchema().safeParse(json);
  if (!parsed.success) {
    return { ok: false, problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) };
  }
  const problems: string[] = [];
  const seen = new Map<string, string>();
  const clusters: ClusterEntry[] = [];
  parsed.data.forEach((entry, index) => {
    const at = (msg: string) => problems.push(`${index} (${entry.name}): ${msg}`);
    const folded = entry.name.toLowerCase();
    const before = seen.get(folded);
    if (before !== undefined) at(`the name is already used by ${before}`);
    seen.set(folded, entry.name);
    if (entry.eks && entry.kubeconfigParam) at('set eks or kubeconfigParam, not both');
    if (!entry.eks && !entry.kubeconfigParam && parsed.data.length > 1) at('needs eks or kubeconfigParam when several clusters are configured');
    if (entry.scanKubeconfigParam && !entry.kubeconfigParam) at('scanKubeconfigParam needs kubeconfigParam (with eks the scan signs in with its own role)');
    // The path names the cluster it speaks for: another entry's token must never be this one's.
    if (entry.webhookTokenParam && !entry.webhookTokenParam.endsWith(`/clusters/${entry.name}/webhook-token`)) {
      at(`webhookTokenParam must be /k8s-healer/<stage>/clusters/${entry.name}/webhook-token (the path names the cluster it speaks for)`);
    }
    const region = entry.eks?.region ?? defaultRegion;
    if (entry.eks && region === undefined) at('eks.region is required when AWS_REGION is not set');
    if (entry.eks && (entry.eks.endpoint === undefined) !== (entry.eks.caData === undefined)) {
      at('eks: set endpoint and caData together, or leave both out to have them asked of EKS (DescribeCluster)');
    }
    const narrowed = narrowSettings(stack, entry.policy ?? {});
    for (const p of narrowed.problems) at(p);
    clusters.push(Object.freeze({
      name: entry.name,
      eks: entry.eks && region !== undefined ? eksSettingsOf(entry.eks, region) : undefined,
      kubeconfigParam: entry.kubeconfigParam,
      scanKubeconfigParam: entry.scanKubeconfigParam,
      webhookTokenParam: entry.webhookTokenParam,
      settings: Object.freeze({ ...narrowed.settings, cluster: entry.name }),
    }));
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, clusters: Object.freeze(clusters) };
}

/** Endpoint and CA only when both are given (the registry check refuses one without the other). */
export function eksSettingsOf(eks: { clusterName: string; endpoint?: string | undefined; caData?: string | undefined }, region: string): EksSettings {
  const { clusterName, endpoint, caData } = eks;
  return Object.freeze(endpoint !== undefined && caData !== undefined ? { clusterName, endpoint, caData, region } : { clusterName, region });
}

/** The registry entry of a name an alert or a queue message carries; undefined for any other. */
export function clusterNamed(clusters: readonly ClusterEntry[], name: unknown): ClusterEntry | undefined {
  return typeof name === 'string' ? clusters.find((c) => c.name === name) : undefined;
}
