import * as z from '../util/schema.js';
import { failTransform } from '../util/schema.js';
import { parseAlertMappings, type AlertMappings } from '../intake/incidents.js';
import { DEFAULT_DETECTOR_SETTINGS, type DetectorSettings } from '../detect/finding.js';
import { DEFAULT_MODEL_PRICES, parseModelPrices, type ModelPrices } from '../diagnose/cost.js';
import { ACTION_IDS } from '../domain/types.js';
import { redact } from '../evidence/redact.js';
import { EKS_ENDPOINT, eksSettingsOf, isClusterName, isPemCertificateBase64, parseClusterRegistry, type ClusterEntry, type EksSettings } from './clusters.js';

export type { ClusterEntry, EksSettings } from './clusters.js';

/**
 * Every setting the healer reads, parsed once from the environment into a frozen object.
 * Defaults are the safe, local ones: dry-run on, Kubernetes system namespaces denied.
 *
 * Each variable is one schema node, a transform over its text: zod makes every node and check an
 * object with bound methods, and the webhook's cold start paid about 400 of them for this schema
 * (bench/cold-start.ts). The parsers below keep zod's coercions (a number is Number(text), so ""
 * is 0, as z.coerce.number() read it) and name what was expected.
 */
class BadValue extends Error {}

/** A bad value as an error quotes it: redacted and cut, since a start failure is logged as it is. */
const quoted = (text: string): string => JSON.stringify(redact(text.length > 80 ? `${text.slice(0, 80)}…` : text));

/** One variable: unset or its text in, the parsed value out; a BadValue becomes its issue. */
function variable<T>(parse: (text: string | undefined) => T) {
  return z.transform((value: unknown, ctx): T => {
    if (value !== undefined && typeof value !== 'string') return failTransform(ctx, `expected text, got ${typeof value}`);
    try {
      return parse(value);
    } catch (error) {
      if (error instanceof BadValue) return failTransform(ctx, error.message);
      throw error;
    }
  });
}

/** A number in [min, max] (whole when `whole`), read as z.coerce.number() read it: Number(text). */
function numberIn(text: string, min: number, max: number, whole: boolean): number {
  const n = Number(text);
  const expected = `expected ${whole ? 'a whole number' : 'a number'} from ${min} to ${max}`;
  if (!Number.isFinite(n) || (whole && !Number.isSafeInteger(n))) throw new BadValue(`${expected}, got ${quoted(text)}`);
  if (n < min || n > max) throw new BadValue(`${expected}, got ${n}`);
  return n;
}

/** A whole number in [min, max]; unset gives the fallback. */
const int = (min: number, max: number, fallback: number) => variable((t) => (t === undefined ? fallback : numberIn(t, min, max, true)));

/** A whole number in [min, max], or undefined when unset. */
const optionalInt = (min: number, max: number) => variable((t) => (t === undefined ? undefined : numberIn(t, min, max, true)));

/** Any number in [min, max]; unset gives the fallback. */
const decimal = (min: number, max: number, fallback: number) => variable((t) => (t === undefined ? fallback : numberIn(t, min, max, false)));

const seconds = (fallback: number, max = 7 * 24 * 3600) => int(0, max, fallback);

const booleanFlag = (fallback: boolean) =>
  variable((value) => {
    if (value === undefined || value === '') return fallback;
    const normalised = value.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(normalised)) return true;
    if (['0', 'false', 'no', 'off'].includes(normalised)) return false;
    throw new BadValue(`expected true or false, got ${quoted(value)}`);
  });

/** A comma-separated list; unset gives the fallback, and so does a blank value when `blank` says so. */
const csvList = (value: string | undefined, fallback: string[], blank: 'empty' | 'fallback'): string[] => {
  if (value === undefined || (blank === 'fallback' && value.trim() === '')) return fallback;
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
};
const csv = (fallback: string[], blank: 'empty' | 'fallback' = 'empty') => variable((v) => csvList(v, fallback, blank));

/** The text as given (blank included), or undefined when unset. */
const optionalText = () => variable((v) => v);

/** Non-empty text of at most `max` characters; unset gives the fallback. */
const text = (fallback: string, max = Number.MAX_SAFE_INTEGER) =>
  variable((v) => {
    if (v === undefined) return fallback;
    if (v.length < 1 || v.length > max) throw new BadValue(`expected 1 to ${max} characters, got ${v.length}`);
    return v;
  });

/** Unset or blank: undefined; else the value trimmed. */
const trimmedOrUnset = () => variable((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** An optional URL, checked by zod's own URL format (kept as a schema: its rules are zod's). */
const optionalUrl = () => z.optional(z.string().check(z.url()));

const ConfigSchema = z.object({
  HEALER_CLUSTER_NAME: variable((v) => {
    if (v !== undefined && !isClusterName(v)) throw new BadValue('expected 1-63 letters, digits, ".", "_" or "-", starting and ending with a letter or digit');
    return v;
  }),
  // The cluster registry (lib/config/clusters.ts): JSON list of clusters, each with its own
  // sign-in and policy narrowing. Unset: one cluster, HEALER_CLUSTER_NAME with HEALER_EKS_* or
  // HEALER_KUBECONFIG_PARAM, as before.
  HEALER_CLUSTERS: variable((v) => (v === undefined || v.trim() === '' ? undefined : v)),
  // Which identity's kubeconfig the function reads from a registry entry: the scan function says
  // `scan` and reads only each entry's scanKubeconfigParam (list-only), never the acting one.
  HEALER_KUBE_IDENTITY: variable((v): 'act' | 'scan' => {
    if (v === undefined) return 'act';
    if (v === 'act' || v === 'scan') return v;
    throw new BadValue(`expected act or scan, got ${quoted(v)}`);
  }),
  HEALER_DRY_RUN: booleanFlag(true),
  HEALER_KILL_SWITCH: booleanFlag(false),
  // SSM String parameter ("on"/"off") read before each decision; flippable without a deploy.
  HEALER_KILL_SWITCH_PARAM: trimmedOrUnset(),
  HEALER_STATE_TABLE: text('k8s-healer-state'),
  HEALER_AUDIT_TABLE: text('k8s-healer-audit'),
  HEALER_QUEUE_URL: optionalText(),
  HEALER_TOPIC_ARN: optionalText(),
  // CloudWatch namespace of the EMF metrics. Validated here; lib/wiring/observability.ts reads the
  // variable itself (same default) so the dead-letter function counts without loading this config.
  HEALER_METRICS_NAMESPACE: text('k8s-healer', 255),
  HEALER_WEBHOOK_TOKEN: optionalText(),
  // `user:password` (RFC 7617: the user has no colon); the message never echoes the value.
  HEALER_WEBHOOK_BASIC_AUTH: variable((v) => {
    if (v === undefined || v === '') return undefined;
    if (!/^[^:]+:.+$/s.test(v)) throw new BadValue('expected user:password with a non-empty user and password');
    return v;
  }),
  HEALER_ALERT_MAPPINGS: variable((value): AlertMappings => {
    if (value === undefined || value.trim() === '') return {};
    const parsed = parseAlertMappings(value);
    if (parsed.ok) return parsed.mappings;
    throw new BadValue(parsed.error);
  }),
  HEALER_WEBHOOK_TOKEN_PARAM: optionalText(),
  HEALER_KUBECONFIG_PARAM: optionalText(),
  // EKS sign-in in-process (lib/adapters/eks-token.ts): with a cluster name, the functions sign
  // their own tokens from their IAM role and no kubeconfig is read. Endpoint and CA as
  // `aws eks describe-cluster` prints them (cluster.endpoint, cluster.certificateAuthority.data).
  HEALER_EKS_CLUSTER_NAME: trimmedOrUnset(),
  HEALER_EKS_ENDPOINT: trimmedOrUnset(),
  HEALER_EKS_CA_DATA: trimmedOrUnset(),
  // The STS region the tokens are signed for; Lambda sets AWS_REGION.
  HEALER_EKS_REGION: trimmedOrUnset(),
  AWS_REGION: optionalText(),
  HEALER_ANTHROPIC_KEY_PARAM: optionalText(),
  ANTHROPIC_API_KEY: optionalText(),
  ANTHROPIC_BASE_URL: optionalUrl(),
  HEALER_MODEL: text('claude-sonnet-5-5'),
  HEALER_MODEL_TIMEOUT_SECONDS: seconds(30, 600),
  HEALER_MODEL_MAX_RETRIES: int(0, 5, 2),
  HEALER_DEDUP_WINDOW_SECONDS: seconds(600),
  // Unset: each action's own cooldown (its record, lib/actions/<id>.ts). Set: one cooldown for every action.
  HEALER_COOLDOWN_SECONDS: optionalInt(0, 7 * 24 * 3600),
  HEALER_GROUP_WINDOW_SECONDS: seconds(300),
  HEALER_LOCK_SECONDS: seconds(300, 3600),
  /** The incident queue's visibility timeout, as deployed: the lock must end before a redelivery. */
  HEALER_QUEUE_VISIBILITY_SECONDS: optionalInt(1, 43_200),
  HEALER_MIN_CONFIDENCE: decimal(0, 1, 0.7),
  // Blank is unset: a stage parameter left empty must not drop the kube-* protection.
  HEALER_DENIED_NAMESPACES: csv(['kube-system', 'kube-public', 'kube-node-lease'], 'fallback'),
  HEALER_MAX_BODY_BYTES: int(1024, 6 * 1024 * 1024, 1024 * 1024),
  HEALER_MAX_ALERTS_PER_PAYLOAD: int(1, 100_000, 1000),
  HEALER_LOG_TAIL_LINES: int(1, 5000, 100),
  HEALER_LOG_LIMIT_BYTES: int(256, 1024 * 1024, 16 * 1024),
  HEALER_EVENTS_LIMIT: int(1, 500, 20),
  // The scan thresholds sites tune; the other detectors keep their defaults (lib/detect/finding.ts).
  HEALER_SCAN_JOB_STUCK_SECONDS: seconds(DEFAULT_DETECTOR_SETTINGS.jobStuckSeconds, 30 * 24 * 3600),
  // delete-job needs proof a Job is stuck: past its activeDeadlineSeconds, or running at least this
  // long with no pod succeeding in this long (lib/actions/plan.ts unprovenStuck). Whole seconds, at least 1.
  HEALER_JOB_STUCK_SECONDS: int(1, 30 * 24 * 3600, 3600),
  HEALER_SCAN_UNSCHEDULABLE_SECONDS: seconds(DEFAULT_DETECTOR_SETTINGS.unschedulableSeconds),
  HEALER_SCAN_NODE_NOT_READY_SECONDS: seconds(DEFAULT_DETECTOR_SETTINGS.nodeNotReadySeconds),
  // Blast radius (lib/policy): 0 means "never act" there, which is allowed on purpose.
  HEALER_MAX_ACTIONS_PER_NAMESPACE_PER_HOUR: int(0, 10_000, 3),
  HEALER_MAX_ACTIONS_PER_CLUSTER_PER_HOUR: int(0, 100_000, 10),
  HEALER_CIRCUIT_BREAKER_COUNT: int(0, 1000, 3),
  // At least a minute: the counters use fixed windows of this length.
  HEALER_CIRCUIT_BREAKER_WINDOW_SECONDS: int(60, 30 * 24 * 3600, 86_400),
  HEALER_MAX_CORDONED_NODE_SHARE: decimal(0, 1, 0.2),
  // Actions (lib/actions): scale bounds, extra approvals, verification, approval links.
  HEALER_SCALE_MAX_REPLICAS: int(1, 10_000, 10),
  HEALER_SCALE_MAX_STEP: int(1, 1000, 2),
  HEALER_SCALE_MAX_STEP_PERCENT: int(1, 1000, 50),
  HEALER_APPROVAL_ACTIONS: variable((v) => {
    const list = csvList(v, [], 'empty');
    if (!list.every((a) => (ACTION_IDS as readonly string[]).includes(a))) throw new BadValue(`expected a comma-separated list of ${ACTION_IDS.join(', ')}`);
    return list;
  }),
  HEALER_VERIFY_DELAY_SECONDS: int(0, 900, 60),
  HEALER_APPROVAL_URL: optionalUrl(),
  // Its length is checked where it is used (lib/wiring/acting.ts): a short key turns approval links
  // off with a logged error, it does not stop the worker from handling incidents.
  HEALER_APPROVAL_KEY: optionalText(),
  HEALER_APPROVAL_KEY_PARAM: optionalText(),
  HEALER_APPROVAL_TTL_SECONDS: int(60, 7 * 24 * 3600, 3600),
  // Diagnosis by Claude: investigation bounds, prices (USD/MTok JSON over lib/diagnose/cost.ts) and the daily budget.
  HEALER_MODEL_MAX_STEPS: int(1, 8, 4),
  HEALER_MODEL_MAX_INPUT_TOKENS: int(1000, 1_000_000, 60_000),
  HEALER_MODEL_PRICES: variable((value): ModelPrices => {
    if (value === undefined || value.trim() === '') return DEFAULT_MODEL_PRICES;
    const parsed = parseModelPrices(value);
    if (parsed.ok) return parsed.prices;
    throw new BadValue(parsed.error);
  }),
  HEALER_MODEL_DAILY_BUDGET_USD: decimal(0, 1_000_000, 20),
  // An empty value means unset.
  HEALER_MODEL_DAILY_BUDGET_TOKENS: variable((v) => (v === undefined || v === '' ? undefined : numberIn(v, 1, Number.MAX_SAFE_INTEGER, true))),
  /** Each Kubernetes API request is abandoned after this long (and never outlives the Lambda). */
  HEALER_KUBE_REQUEST_TIMEOUT_SECONDS: decimal(1, 120, 10),
  /** Protected and opted-out places page without evidence; true lets the model diagnose them (still never acting). */
  HEALER_DIAGNOSE_PROTECTED: booleanFlag(false),
});

/**
 * The settings that decide what the healer may do to the cluster. Every function that acts (the
 * worker, the approval function) and the local run must read the same values: serverless.yml sets
 * them once, at provider level, and the package test checks the acting functions agree.
 */
export const POLICY_SETTINGS = [
  'HEALER_CLUSTER_NAME',
  'HEALER_CLUSTERS',
  'HEALER_DRY_RUN',
  'HEALER_KILL_SWITCH',
  'HEALER_KILL_SWITCH_PARAM',
  'HEALER_COOLDOWN_SECONDS',
  'HEALER_MIN_CONFIDENCE',
  'HEALER_DENIED_NAMESPACES',
  'HEALER_DIAGNOSE_PROTECTED',
  'HEALER_JOB_STUCK_SECONDS',
  'HEALER_MAX_ACTIONS_PER_NAMESPACE_PER_HOUR',
  'HEALER_MAX_ACTIONS_PER_CLUSTER_PER_HOUR',
  'HEALER_CIRCUIT_BREAKER_COUNT',
  'HEALER_CIRCUIT_BREAKER_WINDOW_SECONDS',
  'HEALER_MAX_CORDONED_NODE_SHARE',
  'HEALER_SCALE_MAX_REPLICAS',
  'HEALER_SCALE_MAX_STEP',
  'HEALER_SCALE_MAX_STEP_PERCENT',
  'HEALER_APPROVAL_ACTIONS',
  'HEALER_VERIFY_DELAY_SECONDS',
] as const satisfies readonly (keyof z.input<typeof ConfigSchema>)[];

/**
 * The EKS settings: the cluster's name (and region), with its endpoint and CA both given or both
 * left out (then asked of EKS on first use); a partial set names what is missing.
 */
function eksSettings(e: ConfigEnv, problems: string[]): EksSettings | undefined {
  const { HEALER_EKS_CLUSTER_NAME: clusterName, HEALER_EKS_ENDPOINT: endpoint, HEALER_EKS_CA_DATA: caData } = e;
  const region = e.HEALER_EKS_REGION ?? e.AWS_REGION;
  if (clusterName === undefined) {
    if (endpoint !== undefined || caData !== undefined) problems.push('HEALER_EKS_CLUSTER_NAME: required when HEALER_EKS_ENDPOINT or HEALER_EKS_CA_DATA is set');
    return undefined;
  }
  if (endpoint !== undefined && caData === undefined) problems.push('HEALER_EKS_CA_DATA: required with HEALER_EKS_ENDPOINT (aws eks describe-cluster --query cluster.certificateAuthority.data), or leave both out to have them asked of EKS');
  if (caData !== undefined && endpoint === undefined) problems.push('HEALER_EKS_ENDPOINT: required with HEALER_EKS_CA_DATA (aws eks describe-cluster --query cluster.endpoint), or leave both out to have them asked of EKS');
  if (endpoint !== undefined && !EKS_ENDPOINT.test(endpoint)) problems.push(`HEALER_EKS_ENDPOINT: expected https://<host>, got ${quoted(endpoint)}`);
  if (caData !== undefined && !isPemCertificateBase64(caData)) problems.push('HEALER_EKS_CA_DATA: expected the base64 of a PEM certificate');
  if (region === undefined) problems.push('HEALER_EKS_REGION: required with HEALER_EKS_CLUSTER_NAME when AWS_REGION is not set');
  if (region === undefined || (endpoint === undefined) !== (caData === undefined)) return undefined;
  return eksSettingsOf({ clusterName, endpoint, caData }, region);
}

/**
 * The registry: HEALER_CLUSTERS when set, else a registry of one from the single-cluster settings
 * (HEALER_CLUSTER_NAME, HEALER_EKS_*, HEALER_KUBECONFIG_PARAM), so existing stacks keep working.
 */
function clusterRegistry(e: ConfigEnv, stack: Settings, problems: string[]): readonly ClusterEntry[] {
  if (e.HEALER_CLUSTERS === undefined) {
    const eks = eksSettings(e, problems);
    return Object.freeze([Object.freeze({ name: stack.cluster, eks, kubeconfigParam: e.HEALER_KUBECONFIG_PARAM, scanKubeconfigParam: undefined, webhookTokenParam: undefined, settings: stack })]);
  }
  // Two definitions of where the cluster is would be a guess; HEALER_KUBECONFIG_PARAM is left
  // alone on purpose: serverless.yml sets it for the single-cluster form on every function.
  for (const name of ['HEALER_EKS_CLUSTER_NAME', 'HEALER_EKS_ENDPOINT', 'HEALER_EKS_CA_DATA'] as const) {
    if (e[name] !== undefined) problems.push(`${name}: not allowed with HEALER_CLUSTERS (each cluster names its own eks settings)`);
  }
  const parsed = parseClusterRegistry(e.HEALER_CLUSTERS, stack, e.HEALER_EKS_REGION ?? e.AWS_REGION);
  if (!parsed.ok) {
    problems.push(...parsed.problems.map((p) => `HEALER_CLUSTERS: ${p}`));
    return [];
  }
  if (e.HEALER_CLUSTER_NAME !== undefined && !parsed.clusters.some((c) => c.name === e.HEALER_CLUSTER_NAME)) {
    problems.push(`HEALER_CLUSTER_NAME: "${e.HEALER_CLUSTER_NAME}" is not in HEALER_CLUSTERS`);
  }
  if (e.HEALER_KUBE_IDENTITY === 'scan') {
    for (const c of parsed.clusters) {
      // The scan must never fall back to the acting identity, nor to a default kubeconfig.
      if (c.kubeconfigParam !== undefined && c.scanKubeconfigParam === undefined) problems.push(`HEALER_CLUSTERS: ${c.name}: scanKubeconfigParam is required for the scan (HEALER_KUBE_IDENTITY=scan)`);
    }
  }
  return parsed.clusters;
}

/** The kubeconfig parameter a function with this identity reads for a cluster. */
function kubeconfigParamOf(cluster: ClusterEntry, identity: 'act' | 'scan'): string | undefined {
  return identity === 'scan' && cluster.scanKubeconfigParam !== undefined ? cluster.scanKubeconfigParam : cluster.kubeconfigParam;
}

/**
 * What the healer decides with, grouped, typed from the schema's output (never written out by
 * hand): the one settings object config, pipeline, policy and the write gate all receive whole.
 * Where things are (tables, queues, endpoints) and secrets stay on HealerConfig.
 */
function settingsFrom(e: ConfigEnv, cluster: string) {
  return {
    /** The cluster these settings govern: every key, audit entry and page names it. */
    cluster,
    /** What policy and the write gate check; a cluster may only narrow these (lib/config/clusters.ts). */
    policy: Object.freeze({
      dryRun: e.HEALER_DRY_RUN,
      killSwitch: e.HEALER_KILL_SWITCH,
      deniedNamespaces: Object.freeze([...e.HEALER_DENIED_NAMESPACES]),
      diagnoseProtected: e.HEALER_DIAGNOSE_PROTECTED,
      minConfidence: e.HEALER_MIN_CONFIDENCE,
      maxCordonedNodeShare: e.HEALER_MAX_CORDONED_NODE_SHARE,
      /** What proves a Job stuck for delete-job. */
      jobStuckSeconds: e.HEALER_JOB_STUCK_SECONDS,
    }),
    /** Blast radius, circuit breaker, cooldown and verification spacing (lib/policy/budget.ts). */
    budgets: Object.freeze({
      maxActionsPerNamespacePerHour: e.HEALER_MAX_ACTIONS_PER_NAMESPACE_PER_HOUR,
      maxActionsPerClusterPerHour: e.HEALER_MAX_ACTIONS_PER_CLUSTER_PER_HOUR,
      circuitBreakerCount: e.HEALER_CIRCUIT_BREAKER_COUNT,
      circuitBreakerWindowSeconds: e.HEALER_CIRCUIT_BREAKER_WINDOW_SECONDS,
      /** Unset: each action's own cooldown; read only through cooldownFor (lib/policy/cooldown.ts). */
      cooldownSeconds: e.HEALER_COOLDOWN_SECONDS,
      /** First delayed verification re-check, and the spacing of later ones. */
      verifyDelaySeconds: e.HEALER_VERIFY_DELAY_SECONDS,
    }),
    /** Bounds of scale-deployment. */
    scale: Object.freeze({ maxReplicas: e.HEALER_SCALE_MAX_REPLICAS, maxStep: e.HEALER_SCALE_MAX_STEP, maxStepPercent: e.HEALER_SCALE_MAX_STEP_PERCENT }),
    approval: Object.freeze({
      /** Actions that need approval here on top of those the catalog marks. */
      actions: Object.freeze<string[]>([...e.HEALER_APPROVAL_ACTIONS]),
      ttlSeconds: e.HEALER_APPROVAL_TTL_SECONDS,
    }),
    model: Object.freeze({
      name: e.HEALER_MODEL,
      timeoutSeconds: e.HEALER_MODEL_TIMEOUT_SECONDS,
      maxRetries: e.HEALER_MODEL_MAX_RETRIES,
      maxSteps: e.HEALER_MODEL_MAX_STEPS,
      maxInputTokens: e.HEALER_MODEL_MAX_INPUT_TOKENS,
      prices: e.HEALER_MODEL_PRICES,
      dailyBudgetUsd: e.HEALER_MODEL_DAILY_BUDGET_USD,
      dailyBudgetTokens: e.HEALER_MODEL_DAILY_BUDGET_TOKENS,
    }),
    /** From alert or finding to one locked incident: payload bounds, mappings, dedup and grouping, scan thresholds. */
    intake: Object.freeze({
      maxBodyBytes: e.HEALER_MAX_BODY_BYTES,
      maxAlertsPerPayload: e.HEALER_MAX_ALERTS_PER_PAYLOAD,
      alertMappings: e.HEALER_ALERT_MAPPINGS,
      dedupWindowSeconds: e.HEALER_DEDUP_WINDOW_SECONDS,
      /** Incidents of one workload and symptom within this window are handled as one. */
      groupWindowSeconds: e.HEALER_GROUP_WINDOW_SECONDS,
      lockSeconds: e.HEALER_LOCK_SECONDS,
      scan: Object.freeze({
        jobStuckSeconds: e.HEALER_SCAN_JOB_STUCK_SECONDS,
        unschedulableSeconds: e.HEALER_SCAN_UNSCHEDULABLE_SECONDS,
        nodeNotReadySeconds: e.HEALER_SCAN_NODE_NOT_READY_SECONDS,
      }) satisfies Partial<DetectorSettings>,
    }),
  };
}

type ConfigEnv = z.output<typeof ConfigSchema>;

/** The settings object: every group and field required; derived from the schema through settingsFrom. */
export type Settings = Readonly<ReturnType<typeof settingsFrom>>;

export type HealerConfig = Readonly<{
  /**
   * The default cluster: the only one, or with several the one HEALER_CLUSTER_NAME names (else
   * the registry's first). It names the cluster of CLI commands without --cluster; nothing that
   * reaches a cluster uses it with several clusters (see clusterConfig and kubeConfigFor).
   */
  clusterName: string;
  /** The registry: every cluster this stack serves, each with its settings already narrowed. */
  clusters: readonly ClusterEntry[];
  /**
   * What the healer decides with. One cluster: that cluster's (narrowed). Several: the stack's,
   * and each cluster's come from clusterConfig().
   */
  settings: Settings;
  kubeIdentity: 'act' | 'scan';
  killSwitchParam: string | undefined;
  stateTable: string;
  auditTable: string;
  queueUrl: string | undefined;
  topicArn: string | undefined;
  metricsNamespace: string;
  webhookToken: string | undefined;
  webhookBasicAuth: string | undefined;
  webhookTokenParam: string | undefined;
  kubeconfigParam: string | undefined;
  /** Set: sign in to EKS with the function's own role; the kubeconfig parameter is not read. */
  eks: EksSettings | undefined;
  anthropicKeyParam: string | undefined;
  anthropicApiKey: string | undefined;
  anthropicBaseUrl: string | undefined;
  logTailLines: number;
  logLimitBytes: number;
  eventsLimit: number;
  approvalUrl: string | undefined;
  approvalKey: string | undefined;
  approvalKeyParam: string | undefined;
  kubeRequestTimeoutSeconds: number;
}>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws a ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): HealerConfig {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const problems: string[] = [];
  const stack: Settings = Object.freeze(settingsFrom(e, e.HEALER_CLUSTER_NAME ?? 'local'));
  const clusters = clusterRegistry(e, stack, problems);
  // A worker that crashed (a Lambda timeout) keeps its lock until the lease ends; a redelivery
  // that came sooner would find it held and be dropped as a duplicate.
  if (e.HEALER_QUEUE_VISIBILITY_SECONDS !== undefined && e.HEALER_LOCK_SECONDS >= e.HEALER_QUEUE_VISIBILITY_SECONDS) {
    problems.push(`HEALER_LOCK_SECONDS: ${e.HEALER_LOCK_SECONDS} must be shorter than the queue's visibility timeout (HEALER_QUEUE_VISIBILITY_SECONDS, ${e.HEALER_QUEUE_VISIBILITY_SECONDS}), or a crashed worker's redelivery would find its lock still held and be dropped`);
  }
  if (problems.length > 0 || clusters.length === 0) throw new ConfigError(`invalid configuration: ${problems.join('; ') || 'no cluster configured'}`);
  const defaultCluster = clusters.find((c) => c.name === e.HEALER_CLUSTER_NAME) ?? clusters[0];
  if (!defaultCluster) throw new ConfigError('invalid configuration: no cluster configured');
  // The default cluster's own (narrowed) settings, named after it: never the stack's looser ones
  // under a cluster's name. Each other cluster's come from clusterConfig().
  const settings = defaultCluster.settings;
  return Object.freeze({
    clusterName: defaultCluster.name,
    clusters,
    settings,
    kubeIdentity: e.HEALER_KUBE_IDENTITY,
    killSwitchParam: e.HEALER_KILL_SWITCH_PARAM,
    stateTable: e.HEALER_STATE_TABLE,
    auditTable: e.HEALER_AUDIT_TABLE,
    queueUrl: e.HEALER_QUEUE_URL,
    topicArn: e.HEALER_TOPIC_ARN,
    metricsNamespace: e.HEALER_METRICS_NAMESPACE,
    webhookToken: e.HEALER_WEBHOOK_TOKEN,
    webhookBasicAuth: e.HEALER_WEBHOOK_BASIC_AUTH,
    webhookTokenParam: e.HEALER_WEBHOOK_TOKEN_PARAM,
    kubeconfigParam: clusters.length === 1 ? kubeconfigParamOf(defaultCluster, e.HEALER_KUBE_IDENTITY) : undefined,
    eks: clusters.length === 1 ? defaultCluster.eks : undefined,
    anthropicKeyParam: e.HEALER_ANTHROPIC_KEY_PARAM,
    anthropicApiKey: e.ANTHROPIC_API_KEY,
    anthropicBaseUrl: e.ANTHROPIC_BASE_URL,
    logTailLines: e.HEALER_LOG_TAIL_LINES,
    logLimitBytes: e.HEALER_LOG_LIMIT_BYTES,
    eventsLimit: e.HEALER_EVENTS_LIMIT,
    approvalUrl: e.HEALER_APPROVAL_URL,
    approvalKey: e.HEALER_APPROVAL_KEY,
    approvalKeyParam: e.HEALER_APPROVAL_KEY_PARAM,
    kubeRequestTimeoutSeconds: e.HEALER_KUBE_REQUEST_TIMEOUT_SECONDS,
  });
}

/**
 * The configuration of one cluster of the registry: its name, its sign-in, its narrowed policy,
 * and a registry of just itself. What reaches a cluster is built from this, never from the
 * stack's configuration when several clusters are configured. Undefined for a name the registry
 * does not hold (a queue message or an approval record is untrusted).
 */
export function clusterConfig(config: HealerConfig, name: unknown): HealerConfig | undefined {
  const entry = config.clusters.find((c) => c.name === name);
  if (!entry) return undefined;
  return Object.freeze({
    ...config,
    clusterName: entry.name,
    clusters: Object.freeze([entry]),
    eks: entry.eks,
    kubeconfigParam: kubeconfigParamOf(entry, config.kubeIdentity),
    settings: entry.settings,
  });
}
