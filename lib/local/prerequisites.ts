/**
 * What the local run needs before it starts anything long, and the exact fix for each gap.
 * Checked first, so a machine without Java learns it in a second, not after a ten-minute build.
 * `missingPrerequisites` decides (pure); `machineFacts` looks (runs `java -version`, `go version`).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export interface MachineFacts {
  /** A kubeconfig the run will use (KUBECONFIG or ~/.kube/config), if any. */
  readonly kubeconfig?: string;
  /** Where the cached or given Kubernetes binaries are, or why they are not usable. */
  readonly binaries: { readonly ok: true; readonly dir: string } | { readonly ok: false; readonly reason: string };
  /** `go version` as [major, minor], absent when there is no Go on PATH. */
  readonly go?: readonly [number, number];
  /** The Java runtime's major version, absent when `java` cannot run. */
  readonly javaMajor?: number;
  readonly dynamoEndpoint?: string;
}

export interface Prerequisite {
  readonly need: string;
  /** Every way to satisfy it, the most usual first. */
  readonly fixes: readonly string[];
}

/** What a long step will do, so the user knows before it starts. */
export interface StartPlan {
  readonly cluster: 'kubeconfig' | 'cached-binaries' | 'build-binaries';
  readonly dynamo: 'endpoint' | 'dynamodb-local';
}

const MIN_GO: readonly [number, number] = [1, 24];
const MIN_JAVA = 17;

const atLeast = (v: readonly [number, number], min: readonly [number, number]) => v[0] > min[0] || (v[0] === min[0] && v[1] >= min[1]);

/** Every missing prerequisite (empty when the run can start), and what the start will do. */
export function missingPrerequisites(facts: MachineFacts): { missing: Prerequisite[]; plan?: StartPlan } {
  const missing: Prerequisite[] = [];
  let cluster: StartPlan['cluster'] | undefined;
  if (facts.kubeconfig) cluster = 'kubeconfig';
  else if (facts.binaries.ok) cluster = 'cached-binaries';
  else if (facts.go && atLeast(facts.go, MIN_GO)) cluster = 'build-binaries';
  else {
    missing.push({
      need: `a Kubernetes cluster: none configured, no local control plane binaries (${facts.binaries.reason}), and ${facts.go ? `Go ${facts.go.join('.')} is older than ${MIN_GO.join('.')}` : 'no Go on PATH'} to build them`,
      fixes: [
        `install Go >= ${MIN_GO.join('.')} (https://go.dev/dl/; the first start then builds etcd, kube-apiserver and kwok, about 10 minutes on 2 cores)`,
        'or KUBEBUILDER_ASSETS=<a directory with etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok>',
        'or KUBECONFIG=<the kubeconfig of a cluster to watch> (dry run by default)',
      ],
    });
  }
  let dynamo: StartPlan['dynamo'] | undefined;
  if (facts.dynamoEndpoint) dynamo = 'endpoint';
  else if (facts.javaMajor !== undefined && facts.javaMajor >= MIN_JAVA) dynamo = 'dynamodb-local';
  else {
    missing.push({
      need: `Java ${MIN_JAVA}+ for DynamoDB Local (${facts.javaMajor === undefined ? 'no runnable java' : `found Java ${facts.javaMajor}`})`,
      fixes: [
        'sudo apt-get install openjdk-17-jre-headless (or any Java 17+; JAVA_HOME is honoured)',
        'or AWS_ENDPOINT_URL_DYNAMODB=<a DynamoDB endpoint whose tables the healer may create>',
      ],
    });
  }
  return cluster && dynamo ? { missing, plan: { cluster, dynamo } } : { missing };
}

/** One message listing every gap with its fixes, for the console. */
export function prerequisiteReport(missing: readonly Prerequisite[]): string {
  return [
    `cannot start: ${missing.length} prerequisite${missing.length === 1 ? '' : 's'} missing`,
    ...missing.flatMap((m, i) => [`  ${i + 1}. ${m.need}`, ...m.fixes.map((f) => `     - ${f}`)]),
  ].join('\n');
}

/** `openjdk version "17.0.12"` → 17; `java version "1.8.0_292"` → 8. */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const m = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(versionOutput);
  if (!m) return undefined;
  const first = Number(m[1]);
  return first === 1 && m[2] !== undefined ? Number(m[2]) : first;
}

/** `go version go1.24.3 linux/amd64` → [1, 24]. */
export function parseGoVersion(versionOutput: string): [number, number] | undefined {
  const m = /\bgo(\d+)\.(\d+)/.exec(versionOutput);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Looks at this machine: runs `java -version` and `go version`, reads the environment. */
export function machineFacts(o: { kubeconfig?: string; binaries: MachineFacts['binaries']; env?: NodeJS.ProcessEnv }): MachineFacts {
  const env = o.env ?? process.env;
  const java = env.JAVA_HOME ? join(env.JAVA_HOME, 'bin', 'java') : 'java';
  const javaRun = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const goRun = spawnSync('go', ['version'], { encoding: 'utf8' });
  const javaMajor = javaRun.status === 0 ? parseJavaMajor(`${javaRun.stderr}${javaRun.stdout}`) : undefined;
  const go = goRun.status === 0 ? parseGoVersion(goRun.stdout) : undefined;
  return {
    ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}),
    binaries: o.binaries,
    ...(go ? { go } : {}),
    ...(javaMajor !== undefined ? { javaMajor } : {}),
    ...(env.AWS_ENDPOINT_URL_DYNAMODB ? { dynamoEndpoint: env.AWS_ENDPOINT_URL_DYNAMODB } : {}),
  };
}
