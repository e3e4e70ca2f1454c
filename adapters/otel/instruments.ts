import type { Meter } from '@opentelemetry/api';
import {
  METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
  METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
  OPERATION_DURATION_BUCKETS,
  TOKEN_USAGE_BUCKETS,
} from './semconv';

/** Name of the counter of finished agent runs, by `loopwork.run.status`. */
export const METRIC_AGENT_RUNS = 'loopwork.agent.runs';
/** Name of the counter of money spent on model calls, in USD. */
export const METRIC_AGENT_COST = 'loopwork.agent.cost';
/** Name of the counter of finished task attempts, by `loopwork.attempt.outcome`. */
export const METRIC_TASK_ATTEMPTS = 'loopwork.task.attempts';
/** Name of the histogram of the time a run waited in its queue before a worker claimed it. */
export const METRIC_TASK_QUEUE_WAIT = 'loopwork.task.queue_wait';

/** The metric instruments this adapter records to, created once per instrumentation. */
export function createInstruments(meter: Meter) {
  return {
    tokenUsage: meter.createHistogram(METRIC_GEN_AI_CLIENT_TOKEN_USAGE, {
      description: 'Number of input and output tokens used.',
      unit: '{token}',
      advice: { explicitBucketBoundaries: TOKEN_USAGE_BUCKETS },
    }),
    operationDuration: meter.createHistogram(METRIC_GEN_AI_CLIENT_OPERATION_DURATION, {
      description: 'GenAI operation duration.',
      unit: 's',
      advice: { explicitBucketBoundaries: OPERATION_DURATION_BUCKETS },
    }),
    runs: meter.createCounter(METRIC_AGENT_RUNS, {
      description: 'Agent runs (invocations of runAgent) that ended, by final status.',
      unit: '{run}',
    }),
    cost: meter.createCounter(METRIC_AGENT_COST, {
      description: 'Cost of model calls, from the price table, in US dollars.',
      unit: '{USD}',
    }),
    attempts: meter.createCounter(METRIC_TASK_ATTEMPTS, {
      description: 'Task attempts that ended on a worker, by outcome.',
      unit: '{attempt}',
    }),
    queueWait: meter.createHistogram(METRIC_TASK_QUEUE_WAIT, {
      description:
        'Time from a run becoming claimable (enqueued, or its retry delay over) to its claim.',
      unit: 's',
      advice: { explicitBucketBoundaries: OPERATION_DURATION_BUCKETS },
    }),
  };
}
