/** Read-only git awareness: repo layout, branch, provenance and conflict state of the bundle. */
export { findRepoRoot, gitLayout, currentBranchRef, refFilePath, indexLockPath, isOperationInProgress, operationState } from './layout.js';
export type { GitLayout, OperationState, PendingOperation } from './layout.js';
export { provenance } from './provenance.js';
export type { Provenance } from './provenance.js';
export { conflictState, hasConflictMarkers } from './conflict.js';
export type { ConflictState, ConflictReason } from './conflict.js';
