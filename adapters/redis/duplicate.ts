import { isCluster, type RedisClient } from './client';

/**
 * A second connection to the same server, for blocking reads (on a Cluster, a second Cluster
 * client: a blocked command holds its node's connection, so it must not share the application's).
 * ioredis prints "Unhandled error event" on every failed reconnect of a connection nobody listens
 * on, so while Redis is down each blocking connection would flood the log; its errors go to the
 * application's `error` listeners on `client` instead (dropped when there are none: `client`
 * reports the same outage itself).
 */
export function duplicateOf(client: RedisClient): RedisClient {
  const connection: RedisClient = isCluster(client) ? client.duplicate() : client.duplicate();
  connection.on('error', (error: unknown) => {
    if (client.listenerCount('error') > 0) client.emit('error', error);
  });
  return connection;
}
