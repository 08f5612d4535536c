// Moved to lib/local/control-plane.ts: the local run and the CLI use it too, and nothing outside test/ imports from test/.
export * from '../../lib/local/control-plane.js';
