/**
 * The home directory's lifetime as the use cases see it: check it (ours, 0700), hold its lock (one
 * writer per home), clear a crash's temp files, verify and watch the published outputs, and wipe
 * them (`purge`). The publisher (`publish/`) is the only writer of home; the daemon and the
 * commands reach it through this module and the rest of the use-case layer, never directly, so
 * the publisher's rules stay in one place (test/unit/architecture/layers.test.ts holds the line).
 */
export { ensureHome, removeStaleTemps, TEMP_PREFIX } from '../publish/publisher.js';
export { acquireHomeLock, liveHomeLockHolder, type HomeLock, type HomeLockHolder } from '../publish/home-lock.js';
export { LinkedCopies, verifyOutputsIntact, type IntegrityReport, type LinkedCopy } from '../publish/integrity.js';
export { wipeFile } from '../publish/remove.js';
