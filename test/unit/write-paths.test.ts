/**
 * The one write gate, checked in the code itself: the Kubernetes API calls that change a cluster
 * appear only in the adapter the gate holds as its writer (lib/adapters/kubernetes-actions.ts).
 * The read layer hands its readers full API clients (client-node has no read-only ones), so a
 * create, patch, replace or delete anywhere else in lib/ or functions/ would be a write around the
 * gate: this test fails on it. The action records (lib/actions/<id>.ts) name the same verbs on their
 * narrow ActionClient port, which only that adapter implements (test/unit/action-registry.test.ts).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const WRITER = 'lib/adapters/kubernetes-actions.ts';
// client-node's writing methods: createNamespacedPodEviction, patchNamespacedDeployment, replaceNamespacedDeploymentScale, deleteNamespacedJob, patchNode, …
const WRITE_CALL = /\.(?:create|patch|replace|delete)(?:Namespaced|Cluster|Node|Namespace|PersistentVolume|CertificateSigningRequest|CustomResourceDefinition)\w*\s*\(/;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('writes to the cluster', () => {
  it('are made only by the adapter the write gate holds', () => {
    // Act
    const writers = [...sources(join(ROOT, 'lib')), ...sources(join(ROOT, 'functions'))]
      .map((path) => relative(ROOT, path))
      .filter((path) => !path.startsWith('lib/actions/'))
      .filter((path) => readFileSync(join(ROOT, path), 'utf8').split('\n').some((line) => WRITE_CALL.test(line)));

    // Assess: besides the gate's writer, only the local harness, which starts its own control plane
    // and creates the demo workloads there as that plane's admin, never as the healer.
    expect(writers).toEqual([WRITER, 'lib/local/control-plane.ts', 'lib/local/scenario-workloads.ts']);
  });

  it('would be found by the check (it knows client-node\'s writing calls)', () => {
    expect(WRITE_CALL.test('await this.core.createNamespacedPodEviction({ name, namespace, body })')).toBe(true);
    expect(WRITE_CALL.test('await apps.patchNamespacedDeployment({ name, namespace, body })')).toBe(true);
    expect(WRITE_CALL.test('core.patchNode({ name, body })')).toBe(true);
    expect(WRITE_CALL.test('core.deleteNamespace({ name })')).toBe(true);
    expect(WRITE_CALL.test('await core.readNamespacedPod({ name, namespace })')).toBe(false);
    expect(WRITE_CALL.test('await core.listNamespacedEvent({ namespace })')).toBe(false);
  });
});
