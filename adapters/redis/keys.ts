import type { Priority } from 'loopwork';

/** The priority levels, most urgent first: one stream each. */
export const LEVELS: readonly Priority[] = ['high', 'normal', 'low'];

/**
 * Key names. Every key of one queue shares the hash tag `{prefix:queue}`, so each script touches
 * a single hash slot. On Redis Cluster, claim from one queue per call (one worker per task type):
 * the blocking wait of a claim over several queues reads streams in several slots (CROSSSLOT).
 */
export function queueKeys(prefix: string, queue: string) {
  const tag = `{${prefix}:q:${queue}}`;
  return {
    stream: (level: Priority) => `${tag}:${level}`,
    streams: LEVELS.map((level) => `${tag}:${level}`),
    delayed: `${tag}:delayed`,
    leases: `${tag}:leases`,
    dedupe: `${tag}:dedupe`,
    dead: `${tag}:dead`,
  };
}

/**
 * Keys of the stores. Run records and heartbeats share the `{prefix}` tag (their scripts touch an
 * index too); sessions and event streams are single keys, so each gets its own slot.
 */
export function storeKeys(prefix: string) {
  const tag = `{${prefix}}`;
  return {
    session: (key: string) => `{${prefix}:session:${key}}`,
    run: (runId: string) => `${tag}:run:${runId}`,
    runsByStatus: (status: string) => `${tag}:runs:${status}`,
    runsAll: `${tag}:runs-all`,
    heartbeat: (key: string) => `${tag}:hb:${key}`,
    heartbeats: `${tag}:hb`,
    events: (runId: string) => `{${prefix}:events:${runId}}`,
    blob: (key: string) => `${tag}:blob:${key}`,
    blobs: `${tag}:blobs`,
  };
}
