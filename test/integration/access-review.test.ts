import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORBIDDEN_SAMPLE, grantedBy, healerManifest, label, reviewAccess } from '../../lib/cli/access-review.js';
import { REMEDIATE_GROUP } from '../../lib/cli/stage-checks.js';
import { acquireControlPlane, controlPlaneAvailable, loadKubeConfig, type ClusterInfo } from '../support/control-plane.js';

/**
 * `doctor`'s identity check asks the cluster itself (SelfSubjectAccessReview as the healer, or
 * SubjectAccessReview about its EKS group): every verb infra/rbac.yaml grants must be allowed, and
 * the forbidden sample denied. Against the real kube-apiserver with infra/rbac.yaml applied.
 */
const required = grantedBy(healerManifest(), 'k8s-healer');

describe('the access the healer needs, from infra/rbac.yaml', () => {
  it('covers every catalog action\'s write and grants nothing of the forbidden sample', () => {
    const granted = new Set(required.map(label));
    for (const write of ['create pods/eviction', 'patch apps/deployments', 'update apps/deployments/scale', 'delete batch/jobs', 'patch nodes']) expect(granted).toContain(write);
    expect(FORBIDDEN_SAMPLE.map(label).filter((f) => granted.has(f))).toEqual([]);
  });

  it('refuses a manifest without the role, naming it', () => {
    expect(() => grantedBy('kind: ConfigMap\n', 'k8s-healer')).toThrow(/no ClusterRole k8s-healer/);
  });
});

describe.skipIf(!controlPlaneAvailable())('asked of the real apiserver', () => {
  let cluster: ClusterInfo;
  let release: () => Promise<void>;

  beforeAll(async () => {
    ({ cluster, release } = await acquireControlPlane());
  }, 180_000);
  afterAll(async () => {
    await release?.();
  });

  it('the healer\'s own identity: everything it needs, nothing of the sample', async () => {
    // Act
    const report = await reviewAccess(loadKubeConfig(cluster.healerKubeconfigPath), { self: true }, required);

    // Assess
    expect(report.missing.map(label)).toEqual([]);
    expect(report.excess.map(label)).toEqual([]);
    expect(report.checked).toBe(required.length + FORBIDDEN_SAMPLE.length);
  });

  it('a cluster admin in the healer\'s place: every forbidden verb is reported as excess', async () => {
    const report = await reviewAccess(loadKubeConfig(cluster.adminKubeconfigPath), { self: true }, required);
    expect(report.excess.map(label)).toEqual(FORBIDDEN_SAMPLE.map(label));
  });

  it('about the EKS group, asked by an admin: the binding covers it exactly; an unbound group misses everything', async () => {
    // Prepare
    const admin = loadKubeConfig(cluster.adminKubeconfigPath);

    // Act
    const bound = await reviewAccess(admin, { user: 'k8s-healer-doctor', groups: [REMEDIATE_GROUP, 'system:authenticated'] }, required);
    const unbound = await reviewAccess(admin, { user: 'k8s-healer-doctor', groups: ['someone-else', 'system:authenticated'] }, required);

    // Assess
    expect([bound.missing, bound.excess]).toEqual([[], []]);
    expect(unbound.missing.map(label)).toEqual(required.map(label));
  });
});
