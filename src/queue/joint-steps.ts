import { InvalidOptionError } from '../errors';
import { describeThrown } from '../internal/describe-thrown';
import type { EventLog } from '../store/event-log';
import type { HeartbeatStore } from '../store/heartbeat-store';
import type { RunStore } from '../store/run-store';
import type { Queue, QueueRunSteps } from './queue';

/**
 * The queue's joint steps with `runs` (see {@link Queue.jointWith}), or undefined when it offers
 * none. Checked once, when a worker or dispatcher is made: a queue that answers with something
 * else is refused then, not at its first task.
 */
export function jointSteps(
  queue: Queue,
  runs: RunStore,
  stores: { heartbeats?: HeartbeatStore | undefined; events?: EventLog | undefined } = {},
): QueueRunSteps | undefined {
  if (typeof queue.jointWith !== 'function') return undefined;
  let steps: QueueRunSteps | undefined;
  try {
    steps = queue.jointWith(runs, stores);
  } catch (error) {
    // Whatever it threw (undefined, a null-prototype object…), the error says whose it is.
    throw new InvalidOptionError(
      `the ${queue.adapter} queue's jointWith(runs) threw: ${describeThrown(error)} (a bug in the queue adapter)`,
    );
  }
  if (steps === undefined) return undefined;
  if (
    typeof steps !== 'object' ||
    steps === null ||
    typeof steps.transitionAndAck !== 'function' ||
    typeof steps.createAndEnqueue !== 'function'
  ) {
    throw new InvalidOptionError(
      `the ${queue.adapter} queue's jointWith(runs) returned ${steps === null ? 'null' : typeof steps}, not undefined or an object with transitionAndAck and createAndEnqueue: a bug in the queue adapter`,
    );
  }
  return steps;
}
