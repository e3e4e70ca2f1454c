/**
 * Redis example, part 1 of 3: dispatches agent tasks and exits. Each becomes a run record plus a
 * message on the task's Redis stream; `worker.ts` runs them, `sse-server.ts` streams their events.
 *
 * Run: `LOOPWORK_PREFIX=my-try npx tsx examples/redis/dispatcher.ts "first prompt" "second prompt"`
 * (REDIS_URL defaults to redis://127.0.0.1:6379; examples/redis/demo.ts runs all three parts).
 */
import { connect, prefix } from './app';

const prompts = process.argv.slice(2);
if (prompts.length === 0) prompts.push('How many words does this sentence have?');

const { client, dispatcher, assistant } = connect();
for (const prompt of prompts) {
  // Validated against the task's payload schema before anything is written.
  const { runId } = await dispatcher.dispatch(assistant.task, { prompt });
  console.log(`dispatched ${runId}`);
}
console.log(
  `(key prefix ${prefix}: start worker.ts and sse-server.ts with LOOPWORK_PREFIX=${prefix})`,
);
await client.quit();
