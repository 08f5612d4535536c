import { describe, expect, it } from 'vitest';
import { diagnoseByRunbook } from '../../lib/diagnose/runbook.js';
import type { Evidence, Incident, JobStatusEvidence, NodeEvidence, WorkloadStatusEvidence } from '../../lib/domain/types.js';
import { aCrashingContainer, anIncident, evidenceFor } from '../fixtures/builders.js';

/** The runbook for Deployment, Job and Node subjects (SCENARIOS rows 6-10 and 12). */

const deploymentIncident = (symptom: Incident['symptom'] = 'DeploymentUnavailable') =>
  anIncident({ symptom, subject: { kind: 'Deployment', name: 'web', namespace: 'shop' }, alertname: 'KubeDeploymentReplicasMismatch' });

function deploymentEvidence(incident: Incident, workload: Partial<WorkloadStatusEvidence>, extra: Partial<Evidence> = {}): Evidence {
  return evidenceFor(incident, {
    ownerChain: [{ kind: 'Deployment', name: 'web', namespace: 'shop', uid: 'd-1' }],
    podReady: undefined,
    containers: [aCrashingContainer({ previousLogTail: 'dial tcp 10.0.0.7:5432: connect: connection refused' })],
    governance: {},
    workload: { kind: 'Deployment', name: 'web', uid: 'd-1', resourceVersion: '42', desiredReplicas: 3, readyReplicas: 0, availableReplicas: 0, updatedReplicas: 3, paused: false, conditions: [], podStates: { 'waiting:CrashLoopBackOff': 3 }, ...workload },
    ...extra,
  });
}

describe('runbook: Deployments', () => {
  it('rolls a Deployment whose replicas are all down after a dependency failure (row 8)', () => {
    // Prepare
    const incident = deploymentIncident();
    // Act
    const d = diagnoseByRunbook(incident, deploymentEvidence(incident, {}));
    // Assess
    expect(d).toMatchObject({ recommendation: 'rollout-restart', target: { kind: 'Deployment', name: 'web', namespace: 'shop' }, restartCanHelp: true });
  });

  it.each([
    ['OOMKilled pods', { podStates: { 'terminated:OOMKilled': 2 } }, 'oom'],
    ['image pull failures', { podStates: { 'waiting:ImagePullBackOff': 3 } }, 'image-pull'],
    ['config errors', { podStates: { 'waiting:CreateContainerConfigError': 3 } }, 'config-error'],
    ['a rollout past its progress deadline', { conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] }, 'bad-release'],
  ] as const)('pages instead of restarting for %s', (_name, workload, category) => {
    const incident = deploymentIncident();
    const d = diagnoseByRunbook(incident, deploymentEvidence(incident, workload));
    expect(d).toMatchObject({ recommendation: 'page', category, restartCanHelp: false });
  });

  it('sees nothing to do once every replica is available', () => {
    const incident = deploymentIncident();
    expect(diagnoseByRunbook(incident, deploymentEvidence(incident, { availableReplicas: 3, readyReplicas: 3 })).recommendation).toBe('none');
  });

  it('scales a saturated Deployment by one replica when no autoscaler owns it (row 9)', () => {
    const incident = deploymentIncident('WorkloadSaturated');
    const d = diagnoseByRunbook(incident, deploymentEvidence(incident, { availableReplicas: 3, readyReplicas: 3 }));
    expect(d).toMatchObject({ recommendation: 'scale-deployment', parameters: { replicas: 4 } });
  });

  it('pages for a saturated Deployment scaled to zero on purpose, instead of starting it', () => {
    // Prepare
    const incident = deploymentIncident('WorkloadSaturated');
    // Act
    const d = diagnoseByRunbook(incident, deploymentEvidence(incident, { desiredReplicas: 0, availableReplicas: 0, readyReplicas: 0, updatedReplicas: 0, podStates: {} }));
    // Assess
    expect(d).toMatchObject({ recommendation: 'page', restartCanHelp: false });
    expect(d.summary).toContain('scaled to zero');
  });

  it('pages when an HPA owns the replica count (row 10)', () => {
    const incident = deploymentIncident('WorkloadSaturated');
    const hpa = { name: 'web', minReplicas: 2, maxReplicas: 3, currentReplicas: 3, desiredReplicas: 3 };
    const d = diagnoseByRunbook(incident, deploymentEvidence(incident, { availableReplicas: 3 }, { governance: { hpa } }));
    expect(d).toMatchObject({ recommendation: 'page' });
    expect(d.summary).toContain('HorizontalPodAutoscaler web');
  });
});

const jobIncident = (symptom: Incident['symptom']) => anIncident({ symptom, subject: { kind: 'Job', name: 'report-1', namespace: 'batch' }, alertname: 'KubeJobNotCompleted' });
function jobEvidence(incident: Incident, job: Partial<JobStatusEvidence>, logs = 'working...'): Evidence {
  return evidenceFor(incident, {
    ownerChain: [{ kind: 'Job', name: 'report-1', namespace: 'batch', uid: 'j-1' }],
    podReady: undefined,
    containers: [aCrashingContainer({ currentLogTail: logs, previousLogTail: undefined })],
    job: { name: 'report-1', uid: 'j-1', active: 1, succeeded: 0, failed: 0, runningSeconds: 30_000, activeDeadlineSeconds: 3600, suspended: false, conditions: [], ...job },
  });
}

describe('runbook: Jobs', () => {
  it('deletes a Job stuck running past its deadline (row 6)', () => {
    const incident = jobIncident('JobStuck');
    const d = diagnoseByRunbook(incident, jobEvidence(incident, {}));
    expect(d).toMatchObject({ recommendation: 'delete-job', target: { kind: 'Job', name: 'report-1', namespace: 'batch' } });
    expect(d.confidence).toBeGreaterThanOrEqual(0.9);
  });

  it('pages for a Job that failed on an unreachable dependency (row 7)', () => {
    const incident = jobIncident('JobFailed');
    const d = diagnoseByRunbook(incident, jobEvidence(incident, { active: 0, failed: 6, conditions: [{ type: 'Failed', reason: 'BackoffLimitExceeded' }] }, 'dial tcp: lookup warehouse.internal: no such host'));
    expect(d).toMatchObject({ recommendation: 'page', category: 'transient-crash' });
    expect(d.summary).toContain('BackoffLimitExceeded');
  });

  it('leaves a Job alone that finished meanwhile, and one that is suspended', () => {
    const incident = jobIncident('JobStuck');
    expect(diagnoseByRunbook(incident, jobEvidence(incident, { active: 0, succeeded: 1, conditions: [{ type: 'Complete' }] })).recommendation).toBe('none');
    expect(diagnoseByRunbook(incident, jobEvidence(incident, { suspended: true })).recommendation).toBe('page');
  });
});

const nodeIncident = anIncident({ symptom: 'NodeNotReady', subject: { kind: 'Node', name: 'ip-10-0-1-7', namespace: '' }, alertname: 'KubeNodeNotReady' });
const nodeEvidence = (node: Partial<NodeEvidence> | undefined): Evidence =>
  evidenceFor(nodeIncident, {
    containers: [],
    podReady: undefined,
    ownerChain: [{ kind: 'Node', name: 'ip-10-0-1-7', uid: 'n-1' }],
    ...(node ? { node: { name: 'ip-10-0-1-7', uid: 'n-1', resourceVersion: '9', unschedulable: false, conditions: [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown' }], ...node } } : {}),
  });

describe('runbook: Nodes', () => {
  it('cordons a NotReady node (row 12)', () => {
    expect(diagnoseByRunbook(nodeIncident, nodeEvidence({}))).toMatchObject({ recommendation: 'cordon-node', target: { kind: 'Node', name: 'ip-10-0-1-7' } });
  });

  it('pages for a node already cordoned or unreadable, and does nothing for one Ready again', () => {
    expect(diagnoseByRunbook(nodeIncident, nodeEvidence({ unschedulable: true })).recommendation).toBe('page');
    expect(diagnoseByRunbook(nodeIncident, nodeEvidence(undefined)).recommendation).toBe('page');
    expect(diagnoseByRunbook(nodeIncident, nodeEvidence({ conditions: [{ type: 'Ready', status: 'True' }] })).recommendation).toBe('none');
  });
});
