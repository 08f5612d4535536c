// `npm run cluster`: a local Kubernetes control plane (etcd, kube-apiserver, controller-manager,
// scheduler, kwok fake nodes) that stays up until Ctrl-C. Builds the binaries on first use.
import { ensureBinaries, startControlPlane, type ControlPlane } from '../lib/local/control-plane.js';

const log = (line: string) => process.stderr.write(`[cluster] ${line}\n`);

async function main(): Promise<void> {
  const binDir = process.env.TEST_KUBECONFIG ? undefined : await ensureBinaries();
  const nodes = Number(process.env.KWOK_NODES ?? '1');
  const state: { cp?: ControlPlane; stopping: boolean } = { stopping: false };
  const shutdown = async (sig: string) => {
    if (state.stopping) return;
    state.stopping = true;
    log(`${sig}: stopping`);
    await state.cp?.stop();
    log('stopped');
    process.exit(0);
  };
  // During start-up there is no cp yet: process.exit runs the control plane's exit hook, which
  // kills the components started so far and removes the work dir.
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  const cp = await startControlPlane({ binDir, nodes, log });
  state.cp = cp;

  const lines = [
    '',
    `API server:        ${cp.server}`,
    `admin kubeconfig:  ${cp.adminKubeconfigPath}`,
    `healer kubeconfig: ${cp.healerKubeconfigPath}   (ServiceAccount k8s-healer/k8s-healer, infra/rbac.yaml)`,
    `work dir:          ${cp.workDir}   (component logs in logs/)`,
    cp.kwok ? `kwok nodes:        ${cp.kwok.nodeNames.join(', ')}` : '',
    '',
    `  export KUBECONFIG=${cp.adminKubeconfigPath}`,
    `  export K8S_HEALER_CLUSTER_INFO=${cp.infoPath}   # tests and helpers then use this cluster`,
    '',
    'Ctrl-C to stop.',
  ];
  process.stdout.write(lines.filter((l, i, a) => l !== '' || a[i - 1] !== '').join('\n') + '\n');
  // Stay up: signal handlers end the process.
  setInterval(() => {}, 1 << 30);
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
