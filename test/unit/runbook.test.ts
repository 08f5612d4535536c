import { describe, expect, it } from 'vitest';
import { diagnoseByRunbook } from '../../lib/diagnose/runbook.js';
import { aCrashingContainer, anIncident, evidenceFor } from '../fixtures/builders.js';

describe('runbook diagnoser', () => {
  const incident = anIncident();

  it('recommends evicting a pod whose previous container lost a dependency connection (scenario 1)', () => {
    const diagnosis = diagnoseByRunbook(incident, evidenceFor(incident));
    expect(diagnosis).toMatchObject({ recommendation: 'evict-pod', restartCanHelp: true, category: 'transient-crash' });
    expect(diagnosis.target).toEqual({ kind: 'Pod', name: incident.subject.name, namespace: 'shop' });
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
});
