import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe } from 'vitest';
import { type RedisCluster, startRedisCluster } from '../../helpers/redis-cluster';
import { redisConformance } from './suites';

// Every suite against a real Redis Cluster (3 masters, 3 replicas) that this file starts: each
// script and transaction must touch one slot, or the cluster refuses it with CROSSSLOT.
let cluster: RedisCluster;
let client: Cluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
  client = cluster.client();
}, 60_000);
afterAll(() => cluster.stop());

// Wider windows than on one server: a command may take a redirect, and the cluster's six
// processes share the machine's cores with the tests (a 250 ms delay ran out mid-test on a busy
// 2-core machine).
const timing = { leaseMs: 400, settleMs: 150 };

describe('a slot per queue', () => redisConformance(() => client, { timing }));
// All queues in one slot: the queue suites again (the stores do not depend on the option).
describe('hashTag', () =>
  redisConformance(() => client, {
    queueOptions: { hashTag: 'deployment' },
    queuesOnly: true,
    timing,
  }));
// Every queue write confirmed by the slot's replica (WAIT after each script, on the same node).
describe('waitReplicas 1', () =>
  redisConformance(() => client, { queueOptions: { waitReplicas: 1 }, queuesOnly: true, timing }));
