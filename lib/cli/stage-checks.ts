/**
 * `doctor --stage`: what a deployed stage needs beyond its tables. Its SSM parameters (present,
 * never read out: values stay where they are), its queue and dead-letter queue (a message in the
 * DLQ is an incident the healer gave up on), and the Kubernetes identity the worker acts as.
 */
import { GetParameterCommand, GetParametersCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { KubeConfig } from '@kubernetes/client-node';
import { grantedBy, healerManifest, label, reviewAccess, type AccessReport, type Subject } from './access-review.js';
import { SERVICE } from './target.js';
import type { ClusterEntry } from '../config/clusters.js';

export interface StageCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly fix?: string;
}

/** The parameters serverless.yml reads, and what their absence means. */
export const STAGE_PARAMETERS: readonly { readonly name: string; readonly required: boolean; readonly absent: string }[] = [
  { name: 'webhook-token', required: true, absent: 'the webhook refuses every alert' },
  { name: 'kill-switch', required: true, absent: 'an unreadable switch stops every action' },
  { name: 'kubeconfig', required: false, absent: 'fine when the stage signs in to EKS (eksClusterName); otherwise the worker cannot reach the cluster' },
  { name: 'scan-kubeconfig', required: false, absent: 'fine when the stage signs in to EKS; otherwise the scan cannot read the cluster' },
  { name: 'approval-key', required: false, absent: 'approval links are off: what needs a human is paged without a link' },
  { name: 'anthropic-api-key', required: false, absent: 'the runbook rules diagnose (no model)' },
];

const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
export const parameterPath = (stage: string, name: string) => `/${SERVICE}/${stage}/${name}`;

export async function checkParameters(ssm: SSMClient, stage: string): Promise<StageCheck> {
  const names = STAGE_PARAMETERS.map((p) => parameterPath(stage, p.name));
  try {
    // Without decryption: presence is the question, and the values never reach this process.
    const got = await ssm.send(new GetParametersCommand({ Names: names, WithDecryption: false }));
    const absent = new Set(got.InvalidParameters ?? []);
    const missingRequired = STAGE_PARAMETERS.filter((p) => p.required && absent.has(parameterPath(stage, p.name)));
    const notes = STAGE_PARAMETERS.filter((p) => absent.has(parameterPath(stage, p.name))).map((p) => `${p.name} absent: ${p.absent}`);
    return {
      name: 'parameters',
      ok: missingRequired.length === 0,
      detail: `${names.length - absent.size} of ${names.length} present under /${SERVICE}/${stage}/${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`,
      ...(missingRequired.length > 0 ? { fix: missingRequired.map((p) => `aws ssm put-parameter --type SecureString --name ${parameterPath(stage, p.name)} --value ...`).join('; ') + ' (docs/operations.md, Deploying)' } : {}),
    };
  } catch (error) {
    return { name: 'parameters', ok: false, detail: message(error), fix: 'check AWS credentials and region, and ssm:GetParameters on the stage\'s path' };
  }
}

/** The registry's per-cluster parameters, and what each one's absence means. */
const CLUSTER_PARAMETERS = [
  { key: 'kubeconfigParam', absent: 'the worker and the approval function cannot reach it' },
  { key: 'scanKubeconfigParam', absent: 'the scan cannot read it' },
  { key: 'webhookTokenParam', absent: 'its alerts are refused (only its own token speaks for it)' },
] as const;

/**
 * With a registry (HEALER_CLUSTERS, as deployed): each entry's parameters present, never read out.
 * GetParameters takes ten names a call.
 */
export async function checkClusterParameters(ssm: SSMClient, clusters: readonly ClusterEntry[]): Promise<StageCheck> {
  const wanted = clusters.flatMap((c) => CLUSTER_PARAMETERS.flatMap((p) => (c[p.key] ? [{ cluster: c.name, name: c[p.key] ?? '', absent: p.absent }] : [])));
  try {
    const absent = new Set<string>();
    // A parameter two entries name is asked for once.
    const names = [...new Set(wanted.map((w) => w.name))];
    for (let i = 0; i < names.length; i += 10) {
      const got = await ssm.send(new GetParametersCommand({ Names: names.slice(i, i + 10), WithDecryption: false }));
      for (const name of got.InvalidParameters ?? []) absent.add(name);
    }
    const missing = wanted.filter((w) => absent.has(w.name));
    return {
      name: 'cluster parameters',
      ok: missing.length === 0,
      detail: `${wanted.length - missing.length} of ${wanted.length} present for ${clusters.length} cluster(s)${missing.map((m) => `; ${m.cluster}: ${m.name} absent: ${m.absent}`).join('')}`,
      ...(missing.length > 0 ? { fix: `${missing.map((m) => `aws ssm put-parameter --type SecureString --name ${m.name} --value ...`).join('; ')} (docs/operations.md, Several clusters)` } : {}),
    };
  } catch (error) {
    return { name: 'cluster parameters', ok: false, detail: message(error), fix: 'check AWS credentials and region, and ssm:GetParameters on the registry\'s parameters' };
  }
}

async function depth(sqs: SQSClient, queueName: string): Promise<{ visible: number; inFlight: number }> {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
  const got = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return { visible: Number(got.Attributes?.ApproximateNumberOfMessages ?? 0), inFlight: Number(got.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) };
}

export async function checkQueues(sqs: SQSClient, stage: string): Promise<StageCheck[]> {
  const queue = `${SERVICE}-${stage}-incidents`;
  const dlq = `${queue}-dlq`;
  const checks: StageCheck[] = [];
  try {
    const d = await depth(sqs, queue);
    checks.push({ name: 'queue', ok: true, detail: `${queue}: ${d.visible} waiting, ${d.inFlight} in flight` });
  } catch (error) {
    checks.push({ name: 'queue', ok: false, detail: `${queue}: ${message(error)}`, fix: 'check that the stage is deployed, and sqs:GetQueueAttributes' });
  }
  try {
    const d = await depth(sqs, dlq);
    const total = d.visible + d.inFlight;
    checks.push({
      name: 'dead-letter queue',
      ok: total === 0,
      detail: `${dlq}: ${total === 0 ? 'empty' : `${total} incident(s) the healer gave up on (each was paged)`}`,
      ...(total > 0 ? { fix: `read them (aws sqs receive-message --queue-url $(aws sqs get-queue-url --queue-name ${dlq} --query QueueUrl --output text)), then redrive or delete (docs/operations.md, When something goes wrong)` } : {}),
    });
  } catch (error) {
    checks.push({ name: 'dead-letter queue', ok: false, detail: `${dlq}: ${message(error)}`, fix: 'check that the stage is deployed, and sqs:GetQueueAttributes' });
  }
  return checks;
}

/** The group the worker's IAM role maps to on EKS (infra/rbac.yaml binds it). */
export const REMEDIATE_GROUP = 'k8s-healer:remediate';

export function accessCheck(report: AccessReport, who: string): StageCheck {
  const problems = [
    ...(report.missing.length > 0 ? [`refused what its role grants: ${report.missing.map(label).join(', ')}`] : []),
    ...(report.excess.length > 0 ? [`allowed what no healer may do: ${report.excess.map(label).join(', ')}`] : []),
  ];
  return {
    name: 'identity access',
    ok: problems.length === 0,
    detail: `${who}: ${problems.length === 0 ? `every verb of infra/rbac.yaml allowed, the forbidden sample denied (${report.checked} reviews)` : problems.join('; ')}`,
    ...(problems.length > 0 ? { fix: report.missing.length > 0 ? 'apply this version\'s infra/rbac.yaml (k8s-healer rbac | kubectl apply -f -)' : 'bind the healer only to the k8s-healer ClusterRole (infra/rbac.yaml): remove wider bindings of its identity' } : {}),
  };
}

/**
 * The worker's identity on a stage: its kubeconfig parameter (read into memory, never written or
 * printed) asked as itself; without one (EKS sign-in), its group asked about by the operator's
 * kubeconfig, when there is one.
 */
export async function checkStageIdentity(ssm: SSMClient, stage: string, operatorKubeconfig: string | undefined): Promise<StageCheck> {
  const required = grantedBy(healerManifest(), 'k8s-healer');
  let yaml: string | undefined;
  try {
    yaml = (await ssm.send(new GetParameterCommand({ Name: parameterPath(stage, 'kubeconfig'), WithDecryption: true }))).Parameter?.Value;
  } catch (error) {
    if ((error as { name?: string }).name !== 'ParameterNotFound') return { name: 'identity access', ok: false, detail: message(error), fix: 'ssm:GetParameter with decryption on the stage\'s kubeconfig parameter' };
  }
  try {
    if (yaml) {
      const kc = new KubeConfig();
      kc.loadFromString(yaml);
      return accessCheck(await reviewAccess(kc, { self: true }, required), `the worker's kubeconfig (${kc.getCurrentUser()?.name ?? 'user'} at ${kc.getCurrentCluster()?.server ?? '?'})`);
    }
    if (!operatorKubeconfig) return { name: 'identity access', ok: true, detail: 'not checked: no kubeconfig parameter (EKS sign-in) and no KUBECONFIG here to ask the cluster about the group' };
    const kc = new KubeConfig();
    kc.loadFromFile(operatorKubeconfig);
    const subject: Subject = { user: 'k8s-healer-doctor', groups: [REMEDIATE_GROUP, 'system:authenticated'] };
    return accessCheck(await reviewAccess(kc, subject, required), `the group ${REMEDIATE_GROUP} (asked as ${kc.getCurrentUser()?.name ?? 'you'})`);
  } catch (error) {
    return { name: 'identity access', ok: false, detail: `the cluster could not be asked: ${message(error)}`, fix: 'check the cluster is reachable from here; a SubjectAccessReview needs create on subjectaccessreviews' };
  }
}
