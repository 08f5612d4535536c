/**
 * vitest globalSetup: one local control plane for the whole run (about 5 s to start), shared with
 * every test file through K8S_HEALER_CLUSTER_INFO (see acquireControlPlane). Files that need only
 * DynamoDB Local or moto start those themselves: they start in about a second.
 * With TEST_KUBECONFIG, the tests use that cluster instead and nothing is started here.
 */
import { controlPlaneAvailable, startControlPlane, type ControlPlane } from './control-plane.js';
import { propertySeed } from './property-seed.js';

let controlPlane: ControlPlane | undefined;

export async function setup(): Promise<void> {
  console.log(`[global-setup] fast-check seed ${propertySeed()} (set FC_SEED to run the properties on another)`);
  if (process.env.TEST_KUBECONFIG || process.env.K8S_HEALER_CLUSTER_INFO) return;
  // Throws under CI=true when the binaries are missing; elsewhere, files skip with a message.
  if (!controlPlaneAvailable()) return;
  const started = Date.now();
  controlPlane = await startControlPlane();
  console.log(`[global-setup] control plane ready in ${Date.now() - started} ms at ${controlPlane.server}`);
}

export async function teardown(): Promise<void> {
  await controlPlane?.stop();
}
