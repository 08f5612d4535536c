/** `rbac`: the healer's Kubernetes identity for this version, as the manifests to apply. */
import { readFileSync } from 'node:fs';

export const MANIFESTS = ['infra/rbac.yaml', 'infra/admission-policy.yaml'] as const;

export function rbacManifests(): string {
  return MANIFESTS.map((path) => `# ---- ${path}\n${readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8').trimEnd()}`).join('\n---\n');
}
