/** Read-only git awareness: repo layout, branch, provenance and conflict state of the bundle. */
export { findRepoRoot, gitLayout, currentBranchRef, refFilePath, indexLockPath, isOperationInProgress, operationState } from './layout.js';
export type { GitLayout, OperationState, PendingOperation } from './layout.js';
export { bundleGitState } from './bundle-state.js';
export type { BundleGitState } from './bundle-state.js';
export type { Provenance } from './provenance.js';
export { hasConflictMarkers } from './conflict.js';
export type { ConflictState, ConflictReason } from './conflict.js';
