import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, clusterConfig, loadConfig, type Settings } from '../../lib/config/config.js';
import { isClusterName, narrowSettings, parseClusterRegistry, type ClusterOverrides } from '../../lib/config/clusters.js';
import { kubeConfigFor } from '../../lib/wiring/kube.js';
import { eksApiEndpoint, eksEndpointFrom, EksLookupFailed } from '../../lib/adapters/eks-cluster.js';
import { UnknownClusterError, perCluster } from '../../lib/wiring/clusters.js';
import type { HealerConfig } from '../../lib/config/config.js';
import { binomialFloor } from '../support/property-seed.js';

const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
const eks = (name: string) => ({ clusterName: name, endpoint: `https://${name}.gr7.eu-west-1.eks.amazonaws.com`, caData: CA });
const TWO = JSON.stringify([
  { name: 'prod-eu', eks: eks('prod-eu') },
  { name: 'prod-us', eks: { ...eks('prod-us'), region: 'us-east-1' }, policy: { dryRun: true, deniedNamespaces: ['payments'], scaleMaxReplicas: 4 } },
]);
const ENV = { AWS_REGION: 'eu-west-1', HEALER_DRY_RUN: 'false', HEALER_CLUSTERS: TWO };

const STACK: Settings = loadConfig({ HEALER_DRY_RUN: 'false' }).clusters[0]!.settings;

/** The settings a cluster may narrow, in the flat shape of the overrides, so each bound reads beside its override. */
const flat = (s: Settings) => ({ ...s.policy, ...s.budgets, scaleBounds: s.scale, approvalActions: s.approval.actions });
const STACK_FLAT = flat(STACK);

describe('the cluster registry', () => {
  it('reads each cluster with its sign-in and its policy narrowed from the stack\'s', () => {
    // Act
    const config = loadConfig(ENV);
    // Assess
    expect(config.clusters.map((c) => [c.name, c.eks?.clusterName, c.eks?.region])).toEqual([
      ['prod-eu', 'prod-eu', 'eu-west-1'],
      ['prod-us', 'prod-us', 'us-east-1'],
    ]);
    const us = clusterConfig(config, 'prod-us');
    expect(us).toMatchObject({ clusterName: 'prod-us', settings: { cluster: 'prod-us', policy: { dryRun: true }, scale: { maxReplicas: 4 } }, eks: { clusterName: 'prod-us' } });
    expect(us?.settings.policy.deniedNamespaces).toEqual(['kube-system', 'kube-public', 'kube-node-lease', 'payments']);
    expect(us?.clusters.map((c) => c.name)).toEqual(['prod-us']);
    expect(clusterConfig(config, 'prod-eu')).toMatchObject({ clusterName: 'prod-eu', settings: { cluster: 'prod-eu', policy: { dryRun: false, deniedNamespaces: STACK.policy.deniedNamespaces } } });
  });

  it('names the configuration after the default cluster only with that cluster\'s own narrowed settings', () => {
    // Prepare: the default cluster is the one narrowed to dry run
    const config = loadConfig({ ...ENV, HEALER_CLUSTER_NAME: 'prod-us' });

    // Assess: never the stack's looser settings under prod-us's name
    expect(config.settings).toEqual(clusterConfig(config, 'prod-us')?.settings);
    expect(config.settings.policy.dryRun).toBe(true);
  });

  it('keeps the kube-* namespaces protected when HEALER_DENIED_NAMESPACES is left blank', () => {
    expect(loadConfig({ HEALER_DENIED_NAMESPACES: ' ' }).settings.policy.deniedNamespaces).toEqual(['kube-system', 'kube-public', 'kube-node-lease']);
    expect(loadConfig({ HEALER_DENIED_NAMESPACES: 'kube-system,vault' }).settings.policy.deniedNamespaces).toEqual(['kube-system', 'vault']);
  });

  it('takes an EKS entry of only a name and region, its endpoint and CA to be asked of EKS', () => {
    // Prepare: what fits in Lambda's 4 KB environment for dozens of clusters
    const entries = Array.from({ length: 40 }, (_, i) => ({ name: `prod-${i}`, eks: { clusterName: `prod-${i}`, region: 'eu-west-1' } }));
    const value = JSON.stringify(entries);

    // Act
    const config = loadConfig({ AWS_REGION: 'eu-west-1', HEALER_CLUSTERS: value });

    // Assess
    expect(value.length).toBeLessThan(3_000);
    expect(config.clusters[39]?.eks).toEqual({ clusterName: 'prod-39', region: 'eu-west-1' });
  });

  it('trusts an EKS answer only for a serving cluster with an https endpoint and a PEM CA', () => {
    // Prepare
    const cluster = { clusterName: 'prod-eu', region: 'eu-west-1' };
    const served = { status: 'ACTIVE', endpoint: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com', certificateAuthority: { data: CA } };

    // Act / Assess
    expect(eksEndpointFrom(cluster, served)).toEqual({ endpoint: served.endpoint, caData: CA });
    expect(eksEndpointFrom(cluster, { ...served, status: 'UPDATING' })).toEqual({ endpoint: served.endpoint, caData: CA });
    expect(() => eksEndpointFrom(cluster, { ...served, status: 'CREATING' })).toThrow('EKS cluster "prod-eu" in eu-west-1 is CREATING, not ACTIVE');
    expect(() => eksEndpointFrom(cluster, { ...served, endpoint: 'http://ABC.example' })).toThrow(/gave no https endpoint/);
    expect(() => eksEndpointFrom(cluster, { ...served, certificateAuthority: { data: 'bm90IGEgY2VydA==' } })).toThrow(/gave no PEM certificate authority/);
    expect(() => eksEndpointFrom(cluster, undefined)).toThrow(EksLookupFailed);
  });

  it('asks the region\'s EKS API, or the endpoint the SDK\'s variables name', () => {
    expect(eksApiEndpoint('eu-west-1', {}).href).toBe('https://eks.eu-west-1.amazonaws.com/');
    expect(eksApiEndpoint('cn-north-1', {}).href).toBe('https://eks.cn-north-1.amazonaws.com.cn/');
    expect(eksApiEndpoint('eu-west-1', { AWS_ENDPOINT_URL: 'http://127.0.0.1:5000', AWS_ENDPOINT_URL_EKS: 'http://127.0.0.1:5001' }).href).toBe('http://127.0.0.1:5001/');
    expect(() => eksApiEndpoint('eu-west-1', { AWS_ENDPOINT_URL_EKS: 'http://eks.example.com' })).toThrow(/is not https/);
  });

  it('names no cluster for an unknown, differently cased or non-string name', () => {
    const config = loadConfig(ENV);
    expect(clusterConfig(config, 'prod-asia')).toBeUndefined();
    expect(clusterConfig(config, 'PROD-EU')).toBeUndefined();
    expect(clusterConfig(config, undefined)).toBeUndefined();
    expect(clusterConfig(config, ['prod-eu'])).toBeUndefined();
  });

  it('keeps the single-cluster settings working as a registry of one', () => {
    // Act
    const config = loadConfig({ HEALER_CLUSTER_NAME: 'prod-eu', AWS_REGION: 'eu-west-1', HEALER_EKS_CLUSTER_NAME: 'prod-eu', HEALER_EKS_ENDPOINT: eks('prod-eu').endpoint, HEALER_EKS_CA_DATA: CA, HEALER_DENIED_NAMESPACES: 'kube-system,vault' });
    const plain = loadConfig({});
    // Assess
    expect(config.clusters).toHaveLength(1);
    expect(config.clusters[0]).toMatchObject({ name: 'prod-eu', eks: { clusterName: 'prod-eu', region: 'eu-west-1' } });
    expect(clusterConfig(config, 'prod-eu')).toEqual(config);
    expect(plain.clusterName).toBe('local');
    expect(plain.clusters.map((c) => c.name)).toEqual(['local']);
  });

  it('takes HEALER_CLUSTER_NAME as the default cluster only when the registry holds it', () => {
    expect(loadConfig({ ...ENV, HEALER_CLUSTER_NAME: 'prod-us' }).clusterName).toBe('prod-us');
    expect(loadConfig(ENV).clusterName).toBe('prod-eu');
    expect(() => loadConfig({ ...ENV, HEALER_CLUSTER_NAME: 'local' })).toThrow(/HEALER_CLUSTER_NAME: "local" is not in HEALER_CLUSTERS/);
  });

  it.each([
    ['not JSON', '[{', /HEALER_CLUSTERS: is not valid JSON/],
    ['an empty list', '[]', /HEALER_CLUSTERS: \(root\): expected at least one cluster/],
    ['a name with a slash', JSON.stringify([{ name: 'prod/eu', kubeconfigParam: '/a' }]), /HEALER_CLUSTERS: 0\.name/],
    ['a name with a space', JSON.stringify([{ name: 'prod eu', kubeconfigParam: '/a' }]), /HEALER_CLUSTERS: 0\.name/],
    ['the same name twice, differing in case', JSON.stringify([{ name: 'prod', kubeconfigParam: '/a' }, { name: 'PROD', kubeconfigParam: '/b' }]), /1 \(PROD\): the name is already used by prod/],
    ['eks and a kubeconfig both', JSON.stringify([{ name: 'a', eks: eks('a'), kubeconfigParam: '/a' }]), /set eks or kubeconfigParam, not both/],
    ['two clusters, one reached by the default kubeconfig', JSON.stringify([{ name: 'a', kubeconfigParam: '/a' }, { name: 'b' }]), /1 \(b\): needs eks or kubeconfigParam/],
    ['an unknown key (a typo is not ignored)', JSON.stringify([{ name: 'a', kubeconfigParam: '/a', polcy: { dryRun: true } }]), /Unrecognized key/],
    ['an unknown override', JSON.stringify([{ name: 'a', kubeconfigParam: '/a', policy: { allowKubeSystem: true } }]), /Unrecognized key/],
    ['an EKS endpoint without its CA', JSON.stringify([{ name: 'a', eks: { clusterName: 'a', endpoint: eks('a').endpoint } }]), /0 \(a\): eks: set endpoint and caData together/],
    ['an http EKS endpoint', JSON.stringify([{ name: 'a', eks: { ...eks('a'), endpoint: 'http://a.example' } }]), /0\.eks\.endpoint: expected https/],
    ['dry run turned off where the stack has it on', JSON.stringify([{ name: 'a', policy: { dryRun: false } }]), /policy\.dryRun: false would turn off the stack's dry run/],
    ['a webhook token under another cluster\'s path', JSON.stringify([{ name: 'a', kubeconfigParam: '/a', webhookTokenParam: '/k8s-healer/prod/clusters/b/webhook-token' }, { name: 'b', kubeconfigParam: '/b' }]), /0 \(a\): webhookTokenParam must be \/k8s-healer\/<stage>\/clusters\/a\/webhook-token/],
  ])('refuses %s with a ConfigError naming HEALER_CLUSTERS', (_what, value, message) => {
    // HEALER_DRY_RUN defaults to true: the dry-run case loosens it.
    const env = { AWS_REGION: 'eu-west-1', HEALER_CLUSTERS: value };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('refuses the single-cluster EKS settings next to a registry, and a scan without its own identity', () => {
    expect(() => loadConfig({ ...ENV, HEALER_EKS_CLUSTER_NAME: 'prod-eu' })).toThrow(/HEALER_EKS_CLUSTER_NAME: not allowed with HEALER_CLUSTERS/);
    const acting = JSON.stringify([{ name: 'a', kubeconfigParam: '/k/a' }, { name: 'b', kubeconfigParam: '/k/b', scanKubeconfigParam: '/k/b-scan' }]);
    expect(() => loadConfig({ HEALER_CLUSTERS: acting, HEALER_KUBE_IDENTITY: 'scan' })).toThrow(/a: scanKubeconfigParam is required for the scan/);
    const both = JSON.stringify([{ name: 'a', kubeconfigParam: '/k/a', scanKubeconfigParam: '/k/a-scan' }, { name: 'b', kubeconfigParam: '/k/b', scanKubeconfigParam: '/k/b-scan' }]);
    expect(clusterConfig(loadConfig({ HEALER_CLUSTERS: both, HEALER_KUBE_IDENTITY: 'scan' }), 'b')?.kubeconfigParam).toBe('/k/b-scan');
    expect(clusterConfig(loadConfig({ HEALER_CLUSTERS: both }), 'b')?.kubeconfigParam).toBe('/k/b');
  });

  it('builds no Kubernetes client from the stack\'s configuration when several clusters are configured', async () => {
    await expect(kubeConfigFor(loadConfig(ENV))).rejects.toThrow(/2 clusters are configured: pick one/);
  });
});

describe('cluster policy overrides', () => {
  // Each value narrows nine times in ten and loosens once (for the stack's defaults), so about
  // half the override sets loosen nothing and both outcomes are well exercised.
  const mostly = <T>(narrow: fc.Arbitrary<T>, loose: fc.Arbitrary<T>) => fc.oneof({ weight: 9, arbitrary: narrow }, { weight: 1, arbitrary: loose });
  const overrides: fc.Arbitrary<ClusterOverrides> = fc.record({
    dryRun: mostly(fc.constant(true), fc.constant(false)),
    killSwitch: mostly(fc.constant(true), fc.constant(false)),
    deniedNamespaces: fc.array(fc.constantFrom('payments', 'vault', 'kube-system', 'shop')),
    diagnoseProtected: mostly(fc.constant(false), fc.constant(true)),
    minConfidence: mostly(fc.double({ min: STACK_FLAT.minConfidence, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })),
    maxActionsPerNamespacePerHour: mostly(fc.integer({ min: 0, max: STACK_FLAT.maxActionsPerNamespacePerHour }), fc.integer({ min: 0, max: 20 })),
    maxActionsPerClusterPerHour: mostly(fc.integer({ min: 0, max: STACK_FLAT.maxActionsPerClusterPerHour }), fc.integer({ min: 0, max: 40 })),
    circuitBreakerCount: mostly(fc.integer({ min: 0, max: STACK_FLAT.circuitBreakerCount }), fc.integer({ min: 0, max: 10 })),
    maxCordonedNodeShare: mostly(fc.double({ min: 0, max: STACK_FLAT.maxCordonedNodeShare, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })),
    scaleMaxReplicas: mostly(fc.integer({ min: 1, max: STACK_FLAT.scaleBounds.maxReplicas }), fc.integer({ min: 1, max: 40 })),
    scaleMaxStep: mostly(fc.integer({ min: 1, max: STACK_FLAT.scaleBounds.maxStep }), fc.integer({ min: 1, max: 8 })),
    scaleMaxStepPercent: mostly(fc.integer({ min: 1, max: STACK_FLAT.scaleBounds.maxStepPercent }), fc.integer({ min: 1, max: 200 })),
    approvalActions: fc.subarray(['evict-pod', 'scale-deployment'] as const),
  }, { requiredKeys: [] });
  const stacks: fc.Arbitrary<Settings> = fc.record({ dryRun: fc.boolean(), killSwitch: fc.boolean(), diagnoseProtected: fc.boolean() })
    .map((flags) => ({ ...STACK, policy: { ...STACK.policy, ...flags } }));

  it('either refuses an override or yields a policy no looser than the stack\'s (property)', () => {
    let refused = 0;
    const runs = 400;
    fc.assert(
      fc.property(stacks, overrides, (stackSettings, o) => {
        // Act
        const { settings, problems } = narrowSettings(stackSettings, o);
        const [stack, policy] = [flat(stackSettings), flat(settings)];
        if (problems.length > 0) {
          refused += 1;
          return;
        }
        // Assess: every protection of the stack holds, whatever the entry says
        expect(policy.deniedNamespaces).toEqual(expect.arrayContaining([...stack.deniedNamespaces]));
        expect(policy.approvalActions).toEqual(expect.arrayContaining([...stack.approvalActions]));
        if (stack.dryRun) expect(policy.dryRun).toBe(true);
        if (stack.killSwitch) expect(policy.killSwitch).toBe(true);
        if (!stack.diagnoseProtected) expect(policy.diagnoseProtected).toBe(false);
        expect(policy.minConfidence).toBeGreaterThanOrEqual(stack.minConfidence);
        expect(policy.maxActionsPerNamespacePerHour).toBeLessThanOrEqual(stack.maxActionsPerNamespacePerHour);
        expect(policy.maxActionsPerClusterPerHour).toBeLessThanOrEqual(stack.maxActionsPerClusterPerHour);
        expect(policy.circuitBreakerCount).toBeLessThanOrEqual(stack.circuitBreakerCount);
        expect(policy.maxCordonedNodeShare).toBeLessThanOrEqual(stack.maxCordonedNodeShare);
        expect(policy.scaleBounds.maxReplicas).toBeLessThanOrEqual(stack.scaleBounds.maxReplicas);
        expect(policy.scaleBounds.maxStep).toBeLessThanOrEqual(stack.scaleBounds.maxStep);
        expect(policy.scaleBounds.maxStepPercent).toBeLessThanOrEqual(stack.scaleBounds.maxStepPercent);
      }),
      { numRuns: runs },
    );
    // Both branches ran, each far more often than chance alone would miss.
    expect(refused).toBeGreaterThanOrEqual(binomialFloor(runs, 0.1));
    expect(runs - refused).toBeGreaterThanOrEqual(binomialFloor(runs, 0.1));
  });

  it('refuses exactly the overrides that would loosen the stack, naming each (property)', () => {
    fc.assert(
      fc.property(stacks, overrides, (stackSettings, o) => {
        // Act
        const { problems } = narrowSettings(stackSettings, o);
        const stack = flat(stackSettings);
        // Assess
        const loosens = (o.dryRun === false && stack.dryRun) || (o.killSwitch === false && stack.killSwitch)
          || (o.diagnoseProtected === true && !stack.diagnoseProtected)
          || (o.minConfidence !== undefined && o.minConfidence < stack.minConfidence)
          || (o.maxActionsPerNamespacePerHour ?? 0) > stack.maxActionsPerNamespacePerHour
          || (o.maxActionsPerClusterPerHour ?? 0) > stack.maxActionsPerClusterPerHour
          || (o.circuitBreakerCount ?? 0) > stack.circuitBreakerCount
          || (o.maxCordonedNodeShare ?? 0) > stack.maxCordonedNodeShare
          || (o.scaleMaxReplicas ?? 0) > stack.scaleBounds.maxReplicas
          || (o.scaleMaxStep ?? 0) > stack.scaleBounds.maxStep
          || (o.scaleMaxStepPercent ?? 0) > stack.scaleBounds.maxStepPercent;
        expect(problems.length > 0).toBe(loosens);
        for (const p of problems) expect(p).toMatch(/^policy\.\w+: .*a cluster may only narrow the stack's policy$/);
      }),
      { numRuns: 400 },
    );
  });

  it('accepts only label-safe names, and a registry of valid distinct names whole (property)', () => {
    const runs = 300;
    let invalid = 0;
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._/# -]{0,8}$/), { minLength: 1, maxLength: 4, selector: (s) => s.toLowerCase() }), (names) => {
        // Prepare
        const text = JSON.stringify(names.map((name, i) => ({ name, kubeconfigParam: `/k/${i}` })));
        // Act
        const result = parseClusterRegistry(text, STACK, undefined);
        // Assess
        const allValid = names.every(isClusterName);
        if (!allValid) invalid += 1;
        expect(result.ok).toBe(allValid);
        if (result.ok) expect(result.clusters.map((c) => c.name)).toEqual(names);
        for (const name of names) if (isClusterName(name)) expect(name).not.toMatch(/[/# ]/);
      }),
      { numRuns: runs },
    );
    // Each generated name holds a character outside the rule with fair probability; both branches ran.
    expect(invalid).toBeGreaterThanOrEqual(binomialFloor(runs, 0.3));
    expect(invalid).toBeLessThan(runs);
  });
});

describe('per-cluster dependencies', () => {
  it('builds each cluster\'s from its own configuration only, once, and refuses a name outside the registry', async () => {
    // Prepare
    const built: HealerConfig[] = [];
    const depsFor = perCluster(loadConfig(ENV), (own) => Promise.resolve({ degraded: [], built: built.push(own) }));
    // Act
    await depsFor('prod-us');
    await depsFor('prod-us');
    const unknown = depsFor('prod-asia');
    // Assess: one build, for prod-us, that can name no other cluster
    expect(built).toHaveLength(1);
    expect(built[0]).toMatchObject({ clusterName: 'prod-us', eks: { clusterName: 'prod-us' }, settings: { cluster: 'prod-us', policy: { dryRun: true } } });
    expect(built[0]?.clusters.map((c) => c.name)).toEqual(['prod-us']);
    await expect(unknown).rejects.toThrow(UnknownClusterError);
  });
});
