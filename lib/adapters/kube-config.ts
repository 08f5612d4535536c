import { KubeConfig } from '@kubernetes/client-node';

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];

/**
 * A KubeConfig whose every request is abandoned after `timeoutMs`, and never later than the
 * deadline set for the current invocation (the Lambda's remaining time): a hung API server then
 * fails the request, and the worker still has time to release, record and page.
 */
export class BoundedKubeConfig extends KubeConfig {
  private deadlineMs: number | undefined;
  /** Requests authenticated through this config so far (every request passes here): the scan reports it. */
  requestCount = 0;
  /** Told of every request (method and URL) before it is sent: the tests and benches count reads with it. */
  onRequest: ((method: string, url: string) => void) | undefined;

  constructor(private readonly timeoutMs: number) {
    super();
  }

  /** Epoch ms after which no request may run; undefined lifts it. */
  setDeadline(deadlineMs: number | undefined): void {
    this.deadlineMs = deadlineMs;
  }

  /** The undici dispatcher of the first request for each TLS identity (cluster and user), reused. */
  private readonly dispatchers = new Map<string, NonNullable<ReturnType<RequestContext['getDispatcher']>>>();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    // client-node 2.0 gives every request a new undici Agent (KubeConfig.createDispatcher), so
    // every API call paid a new TCP connection, TLS handshake and SecureContext. The first one made
    // for a cluster and user is kept and set on later requests (its connections kept alive); the
    // new one is never used, so it never connects. Bearer tokens are headers, not part of the key.
    const made = context.getDispatcher();
    if (made) {
      const cluster = this.getCurrentCluster();
      const user = this.getCurrentUser();
      const key = JSON.stringify([cluster?.name, cluster?.server, cluster?.caData, cluster?.caFile, cluster?.skipTLSVerify, cluster?.tlsServerName, cluster?.proxyUrl, user?.name, user?.certData, user?.certFile, user?.keyData, user?.keyFile]);
      const kept = this.dispatchers.get(key);
      if (kept) context.setDispatcher(kept);
      else this.dispatchers.set(key, made);
    }
    this.requestCount++;
    this.onRequest?.(context.getHttpMethod(), context.getUrl());
    const left = this.deadlineMs === undefined ? this.timeoutMs : Math.min(this.timeoutMs, this.deadlineMs - Date.now());
    context.setSignal(AbortSignal.timeout(Math.max(1, left)));
  }
}

/** Where bearer tokens come from when the kubeconfig holds none (EKS: lib/adapters/eks-token.ts). */
export interface BearerTokens {
  token(): Promise<string>;
}

/** The kubeconfig user of an EKS sign-in: it holds no credential, each request gets a fresh token. */
const EKS_USER = 'k8s-healer-iam';

/** An EKS cluster the healer signs in to with its own IAM role: endpoint and CA from describe-cluster. */
export interface EksSignIn {
  readonly clusterName: string;
  readonly endpoint: string;
  readonly caData: string;
  readonly tokens: BearerTokens;
}

/** A kubeconfig the healer cannot use: it needs a plugin the functions do not run. */
export class KubeconfigRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeconfigRefused';
  }
}

/**
 * The healer's KubeConfig: an EKS sign-in (its own token, per request), or a kubeconfig with a
 * static identity (token or client certificate). A kubeconfig whose user runs an exec plugin (what
 * `aws eks update-kubeconfig` writes) or an auth provider is refused here, when the functions build
 * their dependencies, not at the first request of an incident: a Lambda has no `aws` CLI to run.
 */
export function loadKubeConfig(source: {
  kubeconfigYaml?: string | undefined;
  requestTimeoutMs?: number;
  eks?: EksSignIn | undefined;
  /** The developer's own default kubeconfig, where the plugin's command exists; never in a function. */
  allowPlugins?: boolean;
  /** A context of that kubeconfig other than its current one (the CLI's --context). */
  context?: string | undefined;
}): BoundedKubeConfig {
  const kc = new BoundedKubeConfig(source.requestTimeoutMs ?? 10_000);
  if (source.eks) {
    const name = source.eks.clusterName;
    kc.loadFromOptions({
      clusters: [{ name, server: source.eks.endpoint, caData: source.eks.caData, skipTLSVerify: false }],
      users: [{ name: EKS_USER }],
      contexts: [{ name, cluster: name, user: EKS_USER }],
      currentContext: name,
    });
    // Asked on every request (the generated clients, logs, watches): the source caches and renews.
    const tokens = source.eks.tokens;
    kc.addAuthenticator({
      isAuthProvider: (user) => user.name === EKS_USER,
      applyAuthentication: async (_user, opts) => {
        const withHeaders = opts as { headers?: Record<string, unknown> };
        withHeaders.headers = { ...withHeaders.headers, Authorization: `Bearer ${await tokens.token()}` };
      },
    });
    return kc;
  }
  if (source.kubeconfigYaml) kc.loadFromString(source.kubeconfigYaml);
  else kc.loadFromDefault();
  if (source.context !== undefined) {
    if (!kc.getContextObject(source.context)) {
      throw new KubeconfigRefused(`the kubeconfig has no context "${source.context}" (it has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    }
    kc.setCurrentContext(source.context);
  }
  const user = kc.getCurrentUser();
  if (!source.allowPlugins && (user?.exec || user?.authProvider)) {
    const named = (value: unknown) => (typeof value === 'string' ? value : 'unnamed');
    const plugin = user.exec ? `an exec plugin (${named((user.exec as { command?: unknown }).command)})` : `the auth provider ${named((user.authProvider as { name?: unknown }).name)}`;
    throw new KubeconfigRefused(
      `the kubeconfig's user "${user.name}" needs ${plugin}, which the healer does not run. ` +
        'On EKS set HEALER_EKS_CLUSTER_NAME, HEALER_EKS_ENDPOINT and HEALER_EKS_CA_DATA: the functions then sign in with their own IAM role. ' +
        'Elsewhere store a kubeconfig with a static token or client certificate (infra/rbac.yaml, docs/operations.md).',
    );
  }
  return kc;
}

