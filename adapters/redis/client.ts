import type { Cluster, Redis } from 'ioredis';

/**
 * The ioredis client the Redis adapters take: one server (`Redis`) or a Redis Cluster
 * (`Cluster`). Every script and transaction of the adapters touches keys of one hash slot, so
 * both work the same; see docs/scaling.md for what a Cluster changes.
 */
export type RedisClient = Redis | Cluster;

/** Whether `client` is a Cluster client (told by ioredis's own flag: no runtime import of ioredis). */
export const isCluster = (client: RedisClient): client is Cluster => client.isCluster;
