import type { Priority } from 'loopwork';

/** The priority levels, most urgent first: one stream each. */
export const LEVELS: readonly Priority[] = ['high', 'normal', 'low'];

/**
 * Key names. Every key of one queue shares the hash tag `{prefix:q:queue}`, so each script touches
 * a single hash slot, groups included: the hash of group heads and each group's list of waiting
 * members are keys of the queue. With `hashTag`, every queue's keys start with `{hashTag}`
 * instead, so all queues of a deployment share one slot (see RedisQueueOptions.hashTag).
 */
export function queueKeys(prefix: string, queue: string, hashTag?: string) {
  const tag =
    hashTag === undefined ? `{${prefix}:q:${queue}}` : `{${hashTag}}:${prefix}:q:${queue}`;
  const streams = LEVELS.map((level) => `${tag}:${level}`);
  const keys = {
    stream: (level: Priority) => `${tag}:${level}`,
    streams,
    delayed: `${tag}:delayed`,
    leases: `${tag}:leases`,
    dedupe: `${tag}:dedupe`,
    dead: `${tag}:dead`,
    /** Hash: group id → id of the group's head (the one member that may be claimed). */
    groups: `${tag}:groups`,
    /** List of a group's waiting members, oldest first. */
    group: (groupId: string) => `${tag}:group:${groupId}`,
  };
  return {
    ...keys,
    /**
     * The keys of the settle scripts (see scripts.ts), for a message of `groupId` (undefined:
     * ungrouped, where the list's place is taken by a key of the queue the script leaves alone).
     */
    settle: (groupId: string | undefined) => [
      ...streams,
      keys.leases,
      keys.delayed,
      keys.dedupe,
      keys.dead,
      keys.groups,
      groupId === undefined ? keys.groups : keys.group(groupId),
    ],
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
