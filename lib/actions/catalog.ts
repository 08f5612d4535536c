/**
 * The closed list of things the healer may ever do to a cluster. Each action's safety metadata is
 * declared in its own record (lib/actions/<id>.ts) and collected by the registry; this module
 * keeps the names the rest of the code imports.
 */
export type { ActionSpec } from './action.js';
export { ACTIONS, isActionId, needsApproval, specOf } from './registry.js';
