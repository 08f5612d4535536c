import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { gitopsOwner, isBadReleaseShape, selectorMatches, summariseRollout, templateChanges, type ReplicaSetLike } from '../../lib/evidence/workload.js';

const rs = (name: string, revision: number, image: string, ready: number, extra: Partial<{ env: { name: string; value: string }[]; memory: string }> = {}): ReplicaSetLike => ({
  metadata: { name, uid: `${name}-uid`, annotations: { 'deployment.kubernetes.io/revision': String(revision) }, ownerReferences: [{ uid: 'deploy-uid', controller: true }] },
  spec: { template: { spec: { containers: [{ name: 'app', image, env: extra.env, resources: extra.memory ? { limits: { memory: extra.memory } } : undefined }] } } },
  status: { replicas: 2, readyReplicas: ready },
});

describe('rollout analysis', () => {
  it('orders revisions newest first and says what the pod revision changed', () => {
    // Prepare
    const v1 = rs('web-1', 1, 'shop/web:1.4.1', 2, { env: [{ name: 'DB_URL', value: 'a' }], memory: '256Mi' });
    const v2 = rs('web-2', 2, 'shop/web:1.5.0', 0, { env: [{ name: 'DB_URL', value: 'b' }, { name: 'FEATURE_X', value: 'on' }], memory: '128Mi' });
    const foreign = { ...rs('other-1', 9, 'x', 1), metadata: { ...rs('other-1', 9, 'x', 1).metadata, ownerReferences: [{ uid: 'someone-else', controller: true }] } };
    // Act
    const rollout = summariseRollout({ name: 'web', uid: 'deploy-uid' }, [v1, foreign, v2], 'web-2');
    // Assess
    expect(rollout.revisions.map((r) => r.name)).toEqual(['web-2', 'web-1']);
    expect(rollout).toMatchObject({ podRevision: 2, newestRevision: 2 });
    expect(rollout.changes).toEqual([
      'container app image shop/web:1.4.1 -> shop/web:1.5.0',
      'container app env DB_URL changed',
      'container app env FEATURE_X added',
      'container app limits.memory 256Mi -> 128Mi',
    ]);
    expect(JSON.stringify(rollout)).not.toContain('"b"');
  });

  it('recognises a bad release: the newest revision has nothing ready while an older one serves', () => {
    const both = summariseRollout({ name: 'web', uid: 'deploy-uid' }, [rs('web-1', 1, 'a', 2), rs('web-2', 2, 'b', 0)], 'web-2');
    expect(isBadReleaseShape(both)).toBe(true);
    const single = summariseRollout({ name: 'web', uid: 'deploy-uid' }, [rs('web-1', 1, 'a', 0)], 'web-1');
    expect(isBadReleaseShape(single)).toBe(false);
    const oldPod = summariseRollout({ name: 'web', uid: 'deploy-uid' }, [rs('web-1', 1, 'a', 0), rs('web-2', 2, 'b', 0)], 'web-1');
    expect(isBadReleaseShape(oldPod)).toBe(false);
    expect(isBadReleaseShape(undefined)).toBe(false);
  });

  it('never reports env values, whatever they are (property)', () => {
    fc.assert(fc.property(fc.string({ minLength: 3 }), fc.string({ minLength: 3 }), (before, after) => {
      const changes = templateChanges(
        [{ name: 'app', env: [{ name: 'SECRET', value: before }] }],
        [{ name: 'app', env: [{ name: 'SECRET', value: after }] }],
      ).join('\n');
      return before === after ? changes === '' : changes === 'container app env SECRET changed';
    }));
  });
});

describe('selectors and governance', () => {
  it.each([
    [{ matchLabels: { app: 'web' } }, { app: 'web', tier: 'fe' }, true],
    [{ matchLabels: { app: 'web' } }, { app: 'api' }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['fe', 'be'] }] }, { tier: 'fe' }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['fe'] }] }, {}, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, {}, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, {}, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'Gt', values: ['1'] }] }, { tier: '2' }, false],
    [{}, { anything: 'x' }, true],
    [undefined, { app: 'web' }, false],
  ])('selector %j on %j matches: %s', (selector, labels, expected) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });

  it('recognises Argo CD and Flux ownership', () => {
    expect(gitopsOwner({ annotations: { 'argocd.argoproj.io/tracking-id': 'shop:apps/Deployment:shop/web' } })).toBe('argocd');
    expect(gitopsOwner({ labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps' } })).toBe('flux');
    expect(gitopsOwner({ labels: { app: 'web' } })).toBeUndefined();
  });
});
