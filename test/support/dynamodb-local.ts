// Moved to lib/local/dynamodb-local.ts: the local run and the CLI use it too, and nothing outside test/ imports from test/.
export * from '../../lib/local/dynamodb-local.js';
