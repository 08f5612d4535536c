/**
 * Who the local run will act as on a cluster it did not start. A developer's kubeconfig is often a
 * cluster admin; acting live with it needs an explicit yes. `liveRunRefusal` decides (pure);
 * `actingIdentity` asks the apiserver (SelfSubjectReview, SelfSubjectAccessReview).
 */
import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';

export interface ActingIdentity {
  readonly context: string;
  readonly server: string;
  /** The apiserver's own answer; absent when it could not be asked (old server, no permission). */
  readonly username?: string;
  readonly groups: readonly string[];
  /** True when the identity may do anything anywhere ("*" on "*"), as cluster-admin may. */
  readonly clusterAdmin: boolean;
  /** Why the identity could not be fully read, if it could not. */
  readonly unknown?: string;
}

export const CONFIRM_FLAG = '--yes';
export const CONFIRM_ENV = 'HEALER_YES';

/**
 * Null when the run may start; otherwise why not. Dry runs never need a yes. A live run needs one
 * when the identity is a cluster admin or could not be read (unknown counts as the worst case).
 */
export function liveRunRefusal(o: { dryRun: boolean; identity: ActingIdentity; confirmed: boolean }): string | null {
  if (o.dryRun || o.confirmed) return null;
  if (!o.identity.clusterAdmin && o.identity.unknown === undefined) return null;
  const who = o.identity.clusterAdmin ? `a cluster admin (${o.identity.username ?? 'unknown user'})` : `an identity the apiserver would not describe (${o.identity.unknown ?? ''})`;
  return [
    `refusing to act live on context "${o.identity.context}" (${o.identity.server}) as ${who}.`,
    `Use the healer's own scoped identity (kubectl apply -f infra/rbac.yaml, then a kubeconfig for ServiceAccount k8s-healer/k8s-healer),`,
    `keep HEALER_DRY_RUN=true, or confirm with ${CONFIRM_FLAG} (or ${CONFIRM_ENV}=true).`,
  ].join('\n');
}

/** One line for the console: context, server, user and groups, and whether it is an admin. */
export function describeIdentity(i: ActingIdentity): string {
  const who = i.username ? `${i.username}${i.groups.length > 0 ? ` (groups: ${i.groups.join(', ')})` : ''}` : `unknown (${i.unknown ?? 'not reported'})`;
  return `context "${i.context}" at ${i.server}, acting as ${who}${i.clusterAdmin ? ' — a CLUSTER ADMIN' : ''}`;
}

export async function actingIdentity(kc: KubeConfig): Promise<ActingIdentity> {
  const context = kc.getCurrentContext();
  const server = kc.getCurrentCluster()?.server ?? '(no server)';
  const problems: string[] = [];
  let username: string | undefined;
  let groups: string[] = [];
  try {
    const review = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    username = review.status?.userInfo?.username;
    groups = review.status?.userInfo?.groups ?? [];
  } catch (error) {
    problems.push(`SelfSubjectReview failed: ${errorText(error)}`);
  }
  let clusterAdmin = false;
  try {
    const access = await kc.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: '*', group: '*', resource: '*' } } },
    });
    clusterAdmin = access.status?.allowed === true;
  } catch (error) {
    problems.push(`SelfSubjectAccessReview failed: ${errorText(error)}`);
  }
  return { context, server, ...(username ? { username } : {}), groups, clusterAdmin, ...(problems.length > 0 ? { unknown: problems.join('; ') } : {}) };
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
