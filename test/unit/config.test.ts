import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config/config.js';

const refusal = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('accepted');
};

describe('the configuration read from the environment', () => {
  it('defaults to the safe, local settings when nothing is set', () => {
    // Act
    const config = loadConfig({});

    // Assess
    expect(config.settings.policy).toMatchObject({ dryRun: true, killSwitch: false, deniedNamespaces: ['kube-system', 'kube-public', 'kube-node-lease'], minConfidence: 0.7 });
    expect(config.settings.intake.maxBodyBytes).toBe(1024 * 1024);
    expect(config.settings.budgets.cooldownSeconds).toBeUndefined();
    expect(config.settings.model.dailyBudgetTokens).toBeUndefined();
    expect(config.kubeIdentity).toBe('act');
    expect(config.stateTable).toBe('k8s-healer-state');
  });

  it('refuses an incident lock that outlives the queue\'s visibility timeout, so a crashed run\'s redelivery is never dropped', () => {
    // Act
    const accepted = loadConfig({ HEALER_LOCK_SECONDS: '300', HEALER_QUEUE_VISIBILITY_SECONDS: '720' });
    const refused = refusal({ HEALER_LOCK_SECONDS: '900', HEALER_QUEUE_VISIBILITY_SECONDS: '720' });
    const unknown = loadConfig({ HEALER_LOCK_SECONDS: '900' });

    // Assess: the lock must end first; without the visibility timeout (the local run) nothing is checked.
    expect(accepted.settings.intake.lockSeconds).toBe(300);
    expect(refused).toMatch(/HEALER_LOCK_SECONDS: 900 must be shorter than the queue's visibility timeout \(HEALER_QUEUE_VISIBILITY_SECONDS, 720\)/);
    expect(refusal({ HEALER_LOCK_SECONDS: '720', HEALER_QUEUE_VISIBILITY_SECONDS: '720' })).toMatch(/must be shorter/);
    expect(unknown.settings.intake.lockSeconds).toBe(900);
  });

  it('reads numbers as the earlier schema did (Number(text): blank is 0, spaces trimmed) and flags in words', () => {
    // Act
    const config = loadConfig({ HEALER_COOLDOWN_SECONDS: '', HEALER_MAX_BODY_BYTES: ' 2048 ', HEALER_MIN_CONFIDENCE: '0.85', HEALER_DRY_RUN: 'off', HEALER_MODEL_DAILY_BUDGET_TOKENS: '', HEALER_DENIED_NAMESPACES: ' ' });

    // Assess
    expect(config.settings.budgets.cooldownSeconds).toBe(0);
    expect(config.settings.intake.maxBodyBytes).toBe(2048);
    expect(config.settings.policy.minConfidence).toBe(0.85);
    expect(config.settings.policy.dryRun).toBe(false);
    expect(config.settings.model.dailyBudgetTokens).toBeUndefined();
    expect(config.settings.policy.deniedNamespaces).toEqual(['kube-system', 'kube-public', 'kube-node-lease']);
  });

  it('refuses every bad value at once, naming each variable and what it expected', () => {
    // Act
    const message = refusal({
      HEALER_MAX_BODY_BYTES: 'lots', HEALER_SCALE_MAX_REPLICAS: '0', HEALER_LOG_TAIL_LINES: '1.5', HEALER_MIN_CONFIDENCE: '2',
      HEALER_DRY_RUN: 'maybe', HEALER_KUBE_IDENTITY: 'admin', HEALER_STATE_TABLE: '', HEALER_APPROVAL_ACTIONS: 'evict-pod,delete-namespace',
      HEALER_WEBHOOK_BASIC_AUTH: 'no-colon', HEALER_APPROVAL_URL: 'not a url', HEALER_MODEL_DAILY_BUDGET_TOKENS: 'Infinity',
    });

    // Assess
    for (const fragment of [
      'HEALER_MAX_BODY_BYTES: expected a whole number from 1024 to 6291456, got "lots"',
      'HEALER_SCALE_MAX_REPLICAS: expected a whole number from 1 to 10000, got 0',
      'HEALER_LOG_TAIL_LINES: expected a whole number from 1 to 5000, got "1.5"',
      'HEALER_MIN_CONFIDENCE: expected a number from 0 to 1, got 2',
      'HEALER_DRY_RUN: expected true or false, got "maybe"',
      'HEALER_KUBE_IDENTITY: expected act or scan, got "admin"',
      'HEALER_STATE_TABLE: expected 1 to',
      'HEALER_APPROVAL_ACTIONS: expected a comma-separated list of',
      'HEALER_WEBHOOK_BASIC_AUTH: expected user:password',
      'HEALER_APPROVAL_URL:',
      'HEALER_MODEL_DAILY_BUDGET_TOKENS: expected a whole number',
    ]) expect(message).toContain(fragment);
    expect(message).not.toContain('no-colon');
  });

  it('quotes a bad value only redacted: a secret pasted into the wrong variable stays out of the start failure', () => {
    // Prepare
    const token = `ghp_${'aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5'}`;

    // Act
    const message = refusal({ HEALER_MAX_BODY_BYTES: token, HEALER_DRY_RUN: token });

    // Assess
    expect(message).toContain('HEALER_MAX_BODY_BYTES: expected a whole number');
    expect(message).toContain('HEALER_DRY_RUN: expected true or false, got "[REDACTED');
    expect(message).not.toContain(token.slice(0, 12));
  });
});
