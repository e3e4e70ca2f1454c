export type { BlobStore } from './blob-store';
export type { CheckpointDelta, CheckpointWrite } from './checkpoint-delta';
export { STORE_DEFAULTS } from './defaults';
export type { EventLog, LoggedEvent } from './event-log';
export { compareEventIds } from './event-log';
export type { EncodedEvent, EventTooLarge } from './event-size';
export { createEventEncoder, EVENT_LOG_DEFAULTS } from './event-size';
export type { GitWorkdirState, PersistGitOptions } from './git-bundle';
export { persistGitWorkdir, restoreGitWorkdir } from './git-bundle';
export type { Heartbeat, HeartbeatStore } from './heartbeat-store';
export type { ListPosition, ParsedRunQuery } from './run-list';
export type {
  RunError,
  RunPage,
  RunQuery,
  RunRecord,
  RunRecordChanges,
  RunRecordStatus,
  RunStanding,
  RunStore,
  RunTransition,
} from './run-store';
export type { SessionStore, StoredRunState } from './session-store';
