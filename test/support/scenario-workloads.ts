// Moved to lib/local/scenario-workloads.ts: the local run and the CLI use it too, and nothing outside test/ imports from test/.
export * from '../../lib/local/scenario-workloads.js';
