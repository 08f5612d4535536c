import { defineConfig } from 'vitest/config';

// Integration and e2e tests start real local components (control plane, DynamoDB Local, moto,
// Alertmanager); files run one at a time to keep a 2-core machine calm.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Every fast-check property runs on one printed seed (FC_SEED to change it).
    setupFiles: ['test/support/property-seed.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    // Handlers log one JSON line per event; show those only for failing tests.
    silent: 'passed-only',
  },
});
