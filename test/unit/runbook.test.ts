import { describe, expect, it } from 'vitest';
import { diagnoseByRunbook } from '../../lib/diagnose/runbook.js';
import { aCrashingContainer, anIncident, evidenceFor } from '../fixtures/builders.js';

describe('runbook diagnoser', () => {
  const incident = anIncident();

  it('recommends evicting a pod whose previous container lost a dependency connection (scenario 1)', () => {
    const evidence = evidenceFor(incident);
    const diagnosis = diagnoseByRunbook(incident, evidence);
    expect(diagnosis).toMatchObject({ recommendation: 'evict-pod', restartCanHelp: true, category: 'transient-crash' });
    // Pinned to the pod it saw: a same-named replacement is another pod (planAction refuses it).
    expect(diagnosis.target).toEqual({ kind: 'Pod', name: incident.subject.name, namespace: 'shop', uid: evidence.ownerChain[0]?.uid });
    expect(diagnosis.target?.uid).toBeTruthy();
  });

  it.each([
    ['OOMKilled (scenario 3)', aCrashingContainer({ lastTermination: { reason: 'OOMKilled', exitCode: 137 } }), 'oom'],
    ['image pull failure (scenario 4)', aCrashingContainer({ waitingReason: 'ImagePullBackOff', lastTermination: undefined, restartCount: 0 }), 'image-pull'],
    ['config error (scenario 5)', aCrashingContainer({ waitingReason: 'CreateContainerConfigError', lastTermination: undefined, restartCount: 0 }), 'config-error'],
    ['bad release parse error (scenario 2)', aCrashingContainer({ previousLogTail: 'fatal: yaml: line 3: mapping values are not allowed' }), 'bad-release'],
    ['unknown crash', aCrashingContainer({ previousLogTail: 'segfault at 0x0' }), 'unknown'],
  ])('pages for %s and says a restart cannot help', (_name, container, category) => {
    const diagnosis = diagnoseByRunbook(incident, evidenceFor(incident, { containers: [container] }));
    expect(diagnosis).toMatchObject({ recommendation: 'page', restartCanHelp: false, category });
  });

  it('recommends nothing when the pod is gone or healthy again (scenario 16)', () => {
    expect(diagnoseByRunbook(incident, evidenceFor(incident, { exists: false })).recommendation).toBe('none');
    const healthy = evidenceFor(incident, { podReady: true, containers: [aCrashingContainer({ ready: true, waitingReason: undefined })] });
    expect(diagnoseByRunbook(incident, healthy)).toMatchObject({ recommendation: 'none', category: 'already-healthy' });
  });

  it('pages for kinds it has no fix for (a StatefulSet), and never calls them healthy', () => {
    const stsIncident = anIncident({ symptom: 'StatefulSetUnavailable', subject: { kind: 'StatefulSet', name: 'db', namespace: 'shop' }, alertname: 'KubeStatefulSetReplicasMismatch' });
    const diagnosis = diagnoseByRunbook(stsIncident, evidenceFor(stsIncident, { containers: [], ownerChain: [{ kind: 'StatefulSet', name: 'db', namespace: 'shop' }] }));
    expect(diagnosis).toMatchObject({ recommendation: 'page', restartCanHelp: false });
    expect(diagnosis.summary).toBe('StatefulSetUnavailable on StatefulSet shop/db');
  });

  it('pages, citing the gap, when the previous logs could not be read', () => {
    const evidence = evidenceFor(incident, {
      containers: [aCrashingContainer({ previousLogTail: undefined, logError: 'HTTP 403' })],
      gaps: ['previous logs of app unavailable: HTTP 403'],
    });
    const diagnosis = diagnoseByRunbook(incident, evidence);
    expect(diagnosis.recommendation).toBe('page');
    expect(diagnosis.rootCause).toContain('HTTP 403');
  });

  describe('alerts no rule maps (symptom Unknown)', () => {
    const unknown = (subject: { kind: string; name: string; namespace: string }) =>
      anIncident({ symptom: 'Unknown', subject, alertname: 'BatchQueueSlow', labels: { alertname: 'BatchQueueSlow' } });

    it('pages for a running Job with an active pod, citing its status, instead of deleting it', () => {
      // Prepare: the case: an unmapped alert with namespace + job_name on a Job running 90 s.
      const jobIncident = unknown({ kind: 'Job', name: 'report-1', namespace: 'batch' });
      const evidence = evidenceFor(jobIncident, {
        ownerChain: [{ kind: 'Job', name: 'report-1', namespace: 'batch', uid: 'j-1' }],
        podReady: undefined,
        phase: undefined,
        containers: [],
        job: { name: 'report-1', uid: 'j-1', active: 1, succeeded: 0, failed: 0, runningSeconds: 90, suspended: false, conditions: [] },
      });

      // Act
      const diagnosis = diagnoseByRunbook(jobIncident, evidence);

      // Assess
      expect(diagnosis).toMatchObject({ recommendation: 'page', restartCanHelp: false, category: 'unknown' });
      expect(diagnosis.target).toBeUndefined();
      expect(diagnosis.summary).toContain('alert BatchQueueSlow on Job batch/report-1');
      expect(diagnosis.evidenceCited).toContain('Job report-1: active 1, succeeded 0, failed 0, running 90 s');
      expect(diagnosis.rootCause).toContain('Job report-1: active 1');
    });

    it.each([
      ['a crash-looping Pod it would otherwise evict', { kind: 'Pod', name: 'web-7d4b9c-abcde', namespace: 'shop' }, {}],
      ['a Deployment with every replica down', { kind: 'Deployment', name: 'web', namespace: 'shop' }, {
        ownerChain: [{ kind: 'Deployment', name: 'web', namespace: 'shop' }],
        workload: { kind: 'Deployment', name: 'web', desiredReplicas: 3, readyReplicas: 0, availableReplicas: 0, updatedReplicas: 3, paused: false, conditions: [], podStates: {} },
      }],
      ['a saturated-looking Deployment', { kind: 'Deployment', name: 'web', namespace: 'shop' }, {
        ownerChain: [{ kind: 'Deployment', name: 'web', namespace: 'shop' }],
        workload: { kind: 'Deployment', name: 'web', desiredReplicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3, paused: false, conditions: [], podStates: {} },
        governance: {},
      }],
      ['a NotReady Node', { kind: 'Node', name: 'node-1', namespace: '' }, {
        ownerChain: [{ kind: 'Node', name: 'node-1' }],
        node: { name: 'node-1', resourceVersion: '1', unschedulable: false, conditions: [{ type: 'Ready', status: 'Unknown' }] },
      }],
      ['a subject that is gone', { kind: 'Deployment', name: 'web', namespace: 'shop' }, { exists: false, ownerChain: [] }],
    ] as const)('pages for %s', (_what, subject, overrides) => {
      // Prepare
      const i = unknown(subject);
      // Act
      const diagnosis = diagnoseByRunbook(i, evidenceFor(i, overrides));
      // Assess
      expect(diagnosis).toMatchObject({ recommendation: 'page', restartCanHelp: false, category: 'unknown' });
      expect(diagnosis.evidenceCited[0]).toBe('alert BatchQueueSlow is not mapped to a symptom');
    });
  });
});
