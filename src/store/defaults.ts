/** Defaults of the stores' retention, shared by the memory and Redis implementations. */
export const STORE_DEFAULTS = {
  /**
   * How long a run record is kept after it reaches its final status. Open runs (queued, running)
   * never expire. Long enough to look back over a week of runs; shorter saves memory.
   * @defaultValue 604_800_000 (7 days)
   */
  runRetentionMs: 7 * 24 * 3_600_000,
  /**
   * How long a run's event log is kept after its last event: as long as its record, so a run you
   * can still list can still be replayed.
   * @defaultValue 604_800_000 (7 days)
   */
  eventRetentionMs: 7 * 24 * 3_600_000,
  /**
   * How long checkpoints and sessions are kept after their last save: forever by default,
   * because a session is a conversation a user may come back to; set it where that is not so.
   * @defaultValue undefined (kept)
   */
  checkpointRetentionMs: undefined as number | undefined,
} as const;
