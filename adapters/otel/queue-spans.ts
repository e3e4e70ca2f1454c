import type { Attributes } from '@opentelemetry/api';
import type { AttemptEnd, Instrumentation, TraceCarrier } from 'loopwork';
import type { OtelShared } from './otel-instrumentation';
import {
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_TYPE,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_OPERATION_TYPE_VALUE_SEND,
} from './semconv';

/** Attempt endings that are no error of the attempt (the run ended well, or was handed back). */
const OK_ENDINGS = new Set<AttemptEnd['kind']>(['returned', 'released']);

/**
 * The orchestration spans: `dispatch {task}` (PRODUCER) around the enqueue, whose context the
 * message carries, and `process {task}` (CONSUMER) around each attempt, continuing that context,
 * so dispatch, attempts, model calls and tool calls form one trace (messaging conventions' shape:
 * `{operation} {destination}`, with the task type as the destination).
 */
export function queueSpans(shared: OtelShared): Pick<Instrumentation, 'dispatch' | 'attempt'> {
  const { api, instruments, propagator } = shared;
  const { SpanKind } = api;

  return {
    dispatch(info, send) {
      const attributes: Attributes = {
        [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_SEND,
        [ATTR_MESSAGING_DESTINATION_NAME]: info.queue,
        'loopwork.task.type': info.taskType,
        'loopwork.run.id': info.runId,
      };
      return shared.inSpan(
        `dispatch ${info.taskType}`,
        { kind: SpanKind.PRODUCER, attributes },
        api.context.active(),
        (inner) => {
          const trace: TraceCarrier = {};
          shared.safely(() => propagator.inject(inner, trace, api.defaultTextMapSetter));
          return send(Object.keys(trace).length > 0 ? trace : undefined);
        },
        () => {},
      );
    },

    attempt(info, execute) {
      const common: Attributes = { 'loopwork.task.type': info.taskType };
      const attributes: Attributes = {
        [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
        [ATTR_MESSAGING_DESTINATION_NAME]: info.queue,
        [ATTR_MESSAGING_MESSAGE_ID]: info.messageId,
        ...common,
        'loopwork.run.id': info.runId,
        'loopwork.task.attempt': info.attempt,
        'loopwork.task.max_attempts': info.maxAttempts,
        'loopwork.task.delivery_count': info.deliveryCount,
        'loopwork.task.queue_wait_ms': info.queueWaitMs,
        'loopwork.worker.id': info.workerId,
      };
      shared.safely(() => instruments.queueWait.record(info.queueWaitMs / 1000, common));
      let parent = api.context.active();
      const { trace } = info;
      if (trace)
        shared.safely(() => {
          parent = propagator.extract(parent, trace, api.defaultTextMapGetter);
        });
      return shared.inSpan(
        `process ${info.taskType}`,
        { kind: SpanKind.CONSUMER, attributes },
        parent,
        execute,
        (span, end) => {
          span.setAttribute('loopwork.attempt.outcome', end.kind);
          if (end.kind === 'returned') span.setAttribute('loopwork.run.status', end.status);
          if (end.kind === 'failed') {
            span.setAttribute('loopwork.attempt.retryable', end.retryable);
            shared.fail(span, end.error.code, new AttemptError(end.error.message));
          } else if (!OK_ENDINGS.has(end.kind)) {
            shared.fail(span, end.kind);
          }
          instruments.attempts.add(1, { ...common, 'loopwork.attempt.outcome': end.kind });
        },
        info.runId,
      );
    },
  };
}

/** A failed attempt's error as the run record keeps it (already redacted by the worker). */
class AttemptError extends Error {
  override name = 'AttemptError';
}
