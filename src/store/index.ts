export type { BlobStore } from './blob-store';
export type { EventLog, LoggedEvent } from './event-log';
export { compareEventIds } from './event-log';
export type { GitWorkdirState, PersistGitOptions } from './git-bundle';
export { persistGitWorkdir, restoreGitWorkdir } from './git-bundle';
export type { Heartbeat, HeartbeatStore } from './heartbeat-store';
export type { RunRecord, RunRecordStatus, RunStore, RunTransition } from './run-store';
export type { SessionStore, StoredRunState } from './session-store';
