// A worker process of bench/recovery.ts: runs the `sleeper` task with loopwork's default lease,
// heartbeat and poll settings until it is killed. Prints `ready` once it consumes.
import { Redis } from 'ioredis';
import { createWorker, defineTask, handleTask } from 'loopwork';
import { createRedisRunStore } from 'loopwork/redis';
import { z } from 'zod';
import { createE2eQueue, queueKindFromEnv } from '../test/e2e/fixtures/queues';

export const sleeper = defineTask({ type: 'sleeper', payload: z.object({}), maxAttempts: 10 });

if (process.env.RECOVERY_PORT) {
  const client = new Redis({ host: '127.0.0.1', port: Number(process.env.RECOVERY_PORT) });
  const prefix = process.env.RECOVERY_PREFIX ?? 'recovery';
  const worker = createWorker({
    id: `worker-${process.pid}`,
    queue: createE2eQueue(queueKindFromEnv(), { client, prefix }),
    runs: createRedisRunStore({ client, prefix }),
    handlers: [
      handleTask(sleeper, async (_payload, { signal }) => {
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
      }),
    ],
    onError: () => {},
  });
  console.log('ready');
  await worker.run();
}
