import type { Redis } from 'ioredis';

/**
 * A second connection to the same server, for blocking reads. ioredis prints "Unhandled error
 * event" on every failed reconnect of a connection nobody listens on, so while Redis is down each
 * blocking connection would flood the log; its errors go to the application's `error` listeners
 * on `client` instead (dropped when there are none: `client` reports the same outage itself).
 */
export function duplicateOf(client: Redis): Redis {
  const connection = client.duplicate();
  connection.on('error', (error) => {
    if (client.listenerCount('error') > 0) client.emit('error', error);
  });
  return connection;
}
