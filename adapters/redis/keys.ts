import type { Priority } from 'loopwork';

/** The priority levels, most urgent first: one stream each. */
export const LEVELS: readonly Priority[] = ['high', 'normal', 'low'];

/**
 * Key names. Every key of one queue shares the hash tag `{prefix:queue}`, and every store key the
 * tag `{prefix}`, so each multi-key script touches a single hash slot and works on Redis Cluster.
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
    heartbeat: (key: string) => `${tag}:hb:${key}`,
    heartbeats: `${tag}:hb`,
    events: (runId: string) => `{${prefix}:events:${runId}}`,
    blob: (key: string) => `${tag}:blob:${key}`,
    blobs: `${tag}:blobs`,
  };
}
