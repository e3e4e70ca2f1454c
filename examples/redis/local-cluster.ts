/**
 * A throwaway Redis Cluster for the cluster example, the tests and the scaling bench: 3 masters
 * and 3 replicas of `redis-server` on free loopback ports, each in its own temp dir, joined with
 * `redis-cli --cluster create`. `stop()` kills them all and removes the dirs; so does the exit of
 * this process, however it ends. Not an example to copy into an application.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Cluster, type ClusterOptions, Redis } from 'ioredis';
import { freePort } from './local-redis';

const exec = promisify(execFile);

/** One redis-server of the cluster. */
export interface ClusterNodeProcess {
  port: number;
  /** The current role, as the node itself reports it. */
  role(): Promise<'master' | 'slave'>;
  /** SIGKILL; the node stays down (its replica takes over after the node timeout). */
  kill(): Promise<void>;
}

/** A cluster started by {@link startRedisCluster}. */
export interface RedisCluster {
  /** Every node, masters first as created (a replica's role changes on failover). */
  nodes: ClusterNodeProcess[];
  /** `host:port` of every node, for a Cluster client's startup list (or another process's). */
  startupNodes: Array<{ host: string; port: number }>;
  /** `cluster-node-timeout` in ms: how long a dead master goes unnoticed before failover. */
  nodeTimeoutMs: number;
  /** A new ioredis Cluster client with options fit for failover; closed by `stop()`. */
  client(options?: ClusterOptions): Cluster;
  /** The node that serves `key`'s slot as master now. */
  masterOf(key: string): Promise<ClusterNodeProcess>;
  /** A live replica of `master`. */
  replicaOf(master: ClusterNodeProcess): Promise<ClusterNodeProcess>;
  /** Resolves once every live node says `cluster_state:ok` and agrees on 3 masters. */
  waitUntilOk(timeoutMs?: number): Promise<void>;
  /** Kills every node, closes the clients, removes the dirs. */
  stop(): Promise<void>;
}

/**
 * Client options for a cluster that may fail over: commands wait (offline queue, no retry cap)
 * while a master is down and its replica not yet promoted, and the slot map is refreshed often.
 */
export const failoverClusterOptions: ClusterOptions = {
  retryDelayOnClusterDown: 100,
  retryDelayOnFailover: 100,
  retryDelayOnTryAgain: 100,
  slotsRefreshInterval: 1000,
  maxRedirections: 64,
  clusterRetryStrategy: () => 100,
  redisOptions: { maxRetriesPerRequest: null, connectTimeout: 1000 },
};

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await exec('redis-cli', ['-p', String(port), ...args]);
  return stdout;
}

const field = (text: string, name: string) => new RegExp(`^${name}:(\\S+)`, 'm').exec(text)?.[1];

/** Runs `fn` on a short-lived connection to one node (not a Cluster client: no redirects). */
async function withProbe<T>(port: number, fn: (probe: Redis) => Promise<T>): Promise<T> {
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  probe.on('error', () => {});
  try {
    return await fn(probe);
  } finally {
    probe.disconnect();
  }
}

async function waitForPing(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null)
      throw new Error(`redis-server on ${port} exited with ${child.exitCode}`);
    try {
      if ((await cli(port, 'ping')).trim() === 'PONG') return;
    } catch {}
    await sleep(25);
  }
  throw new Error(`redis-server on port ${port} did not answer PING`);
}

/** Starts 3 masters + 3 replicas and waits until the cluster is ok and every replica in sync. */
export async function startRedisCluster(
  options: { nodeTimeoutMs?: number } = {},
): Promise<RedisCluster> {
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  const clients: Cluster[] = [];
  const cleanup = () => {
    for (const child of children) child.kill('SIGKILL');
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanup);

  const nodes: ClusterNodeProcess[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'loopwork-cluster-'));
      dirs.push(dir);
      const child = spawn(
        'redis-server',
        [
          ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
          ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf')],
          ...['--cluster-node-timeout', String(nodeTimeoutMs)],
          ...['--appendonly', 'no', '--save', ''],
        ],
        { stdio: 'ignore' },
      );
      children.push(child);
      await waitForPing(port, child);
      nodes.push({
        port,
        async role() {
          return field(await cli(port, 'info', 'replication'), 'role') as 'master' | 'slave';
        },
        async kill() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGKILL');
          await exited;
        },
      });
    }
    await exec('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((node) => `127.0.0.1:${node.port}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ]);
  } catch (error) {
    process.off('exit', cleanup);
    cleanup();
    throw error;
  }

  const alive = () =>
    nodes.filter((_, i) => children[i]?.exitCode === null && children[i]?.signalCode === null);
  const cluster: RedisCluster = {
    nodes,
    startupNodes: nodes.map((node) => ({ host: '127.0.0.1', port: node.port })),
    nodeTimeoutMs,
    client(clientOptions = {}) {
      // ioredis's own overload types reject its ClusterOptions under exactOptionalPropertyTypes.
      const options = { ...failoverClusterOptions, ...clientOptions } as ConstructorParameters<
        typeof Cluster
      >[1];
      const client = new Cluster(cluster.startupNodes, options);
      clients.push(client);
      return client;
    },
    async masterOf(key) {
      for (const node of alive()) {
        const found = await withProbe(node.port, async (probe) => {
          const slot = await probe.cluster('KEYSLOT', key);
          const slots = await probe.cluster('SLOTS');
          const range = slots.find(([from, to]) => slot >= from && slot <= to);
          return nodes.find((n) => n.port === range?.[2]?.[1]);
        });
        if (found) return found;
      }
      throw new Error(`no live master serves ${key}`);
    },
    async replicaOf(master) {
      for (const node of alive()) {
        if (node === master) continue;
        const text = await cli(node.port, 'info', 'replication');
        if (field(text, 'role') === 'slave' && field(text, 'master_port') === String(master.port))
          return node;
      }
      throw new Error(`no live replica of :${master.port}`);
    },
    async waitUntilOk(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const live = alive();
        const states = await Promise.all(
          live.map(async (node) => {
            const text = await cli(node.port, 'cluster', 'info').catch(() => '');
            if (field(text, 'cluster_state') !== 'ok' || field(text, 'cluster_size') !== '3')
              return false;
            // Every slot served by a live master: right after a kill the others still say ok.
            const ports = new Set(live.map((n) => n.port));
            const ranges = await withProbe(node.port, (probe) => probe.cluster('SLOTS'));
            const served = ranges
              .filter((range) => ports.has(Number(range[2]?.[1])))
              .reduce((sum, [from, to]) => sum + to - from + 1, 0);
            return served === 16_384;
          }),
        );
        if (states.every(Boolean)) return;
        if (Date.now() > deadline) throw new Error(`cluster not ok after ${timeoutMs} ms`);
        await sleep(100);
      }
    },
    async stop() {
      process.off('exit', cleanup);
      for (const client of clients) client.disconnect();
      await Promise.all(nodes.map((node) => node.kill()));
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.waitUntilOk();
  // A replica takes a few seconds to make its first full sync; until then it cannot confirm a
  // WAIT nor take over from its master.
  const deadline = Date.now() + 30_000;
  for (const node of nodes) {
    while ((await node.role()) === 'slave') {
      const text = await cli(node.port, 'info', 'replication');
      if (
        field(text, 'master_link_status') === 'up' &&
        field(text, 'master_sync_in_progress') === '0'
      )
        break;
      if (Date.now() > deadline)
        throw new Error(`replica :${node.port} did not sync with its master`);
      await sleep(100);
    }
  }
  return cluster;
}
