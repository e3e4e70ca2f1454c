// Joint steps made of the separate calls (right, but not atomic): the reference the tests break
// or lie around, on any queue and run store.
import type { Queue, QueueRunSteps, RunStore } from 'loopwork';

export function separateCallSteps(queue: Queue, runs: RunStore): QueueRunSteps {
  return {
    async transitionAndAck(record, transition, message) {
      const written = await runs.transition(record.runId, transition);
      if (written) await queue.ack(message).catch(() => {});
      return written;
    },
    async createAndEnqueue(record, name, body, options) {
      await runs.create(record);
      return queue.enqueue(name, body, options);
    },
  };
}
