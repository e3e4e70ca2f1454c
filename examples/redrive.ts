/**
 * Dead letters and their redrive: a run is dead-lettered because the worker that took it was
 * deployed without its handler; once a worker that has it is up, `dispatcher.redrive` gives the
 * letter's work a new run, linked to the dead-lettered one, and removes the letter.
 * (`loopwork dead-letters redrive --queue … --all` does the same from a terminal.)
 * Run: `npx tsx examples/redrive.ts`
 */
import {
  createDispatcher,
  createMemoryQueue,
  createMemoryRunStore,
  createWorker,
  defineTask,
  handleTask,
} from 'loopwork';
import { z } from 'zod';

const queueName = 'loopwork:tasks:reports';
const report = defineTask({
  type: 'report',
  payload: z.object({ month: z.string() }),
  queue: queueName,
});
// An older deployment knew only this task on the same queue.
const ping = defineTask({ type: 'ping', payload: z.object({}), queue: queueName });

const queue = createMemoryQueue();
const runs = createMemoryRunStore();
const dispatcher = createDispatcher({ queue, runs });

await dispatcher.dispatch(report, { month: '2026-11' }, { runId: 'report-nov' });
const old = createWorker({ queue, runs, handlers: [handleTask(ping, async () => 'pong')] });
console.log('old worker:', await old.runOnce({ waitMs: 0 }));
console.log('report-nov is', (await runs.get('report-nov'))?.status);

const letters = await queue.deadLetters(queueName);
for (const letter of letters) console.log(`dead letter ${letter.id}: ${letter.reason}`);

// The fix is deployed: a worker that handles reports.
const fixed = createWorker({
  queue,
  runs,
  handlers: [handleTask(report, async ({ month }) => `report for ${month}`)],
});
for (const letter of letters) {
  const result = await dispatcher.redrive(letter);
  console.log(`redrive: ${result.outcome} ${result.fromRunId} → ${result.runId}`);
}
console.log('new worker:', await fixed.runOnce({ waitMs: 0 }));

const { runs: all } = await runs.list({ taskType: 'report' });
for (const run of all) {
  const link = run.redrivenFrom ? ` (redrive of ${run.redrivenFrom})` : '';
  console.log(`${run.runId}: ${run.status}${link} ${JSON.stringify(run.output ?? run.error)}`);
}
console.log('dead letters left:', (await queue.deadLetters(queueName)).length);
if (all.find((run) => run.redrivenFrom === 'report-nov')?.status !== 'completed') {
  throw new Error('the redriven report did not complete');
}
