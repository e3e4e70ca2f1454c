import { LeaseLostError } from '../errors';
import type { AttemptInfo, TraceCarrier } from '../instrumentation/instrumentation';
import type { RunError, RunRecord, RunTransition } from '../store/run-store';
import { runErrorOf } from './attempt-failure';
import {
  classifyDelivery,
  confirmsFreshStart,
  type Delivery,
  freshStart,
  isFinal,
  settleAttempt,
} from './lifecycle';
import type { ClaimedMessage, DeadLetter } from './queue';
import { type AttemptEnd, runAttempt } from './run-attempt';
import { parseEnvelope, parsePayload } from './task';
import { finishedEvent, type TaskEvent } from './task-events';
import type { JobOutcome, TaskHandler } from './task-handler';
import type { WorkerDeps } from './worker-deps';

/** Rounds of read → decide → compare-and-set before a write is given up as contended. */
const MAX_ROUNDS = 5;

/**
 * Processes one claimed message to its end and says how it ended; `controller` is aborted with an
 * `Interrupt` to cut the attempt short.
 *
 * 1. Parse and validate the message; one that names no runnable run is dead-lettered once, with
 *    its reason (its run, when it has one, ends `dead_lettered`); such a message of a run that
 *    already ended is a duplicate and is acked.
 * 2. Ask the lifecycle what the delivery means for the run (`classifyDelivery`): start it, take it
 *    over from an attempt whose lease ran out, drop a leftover, or end it unrun. A run's first
 *    delivery is tried as a start straight away (`freshStart`), the record read only when that
 *    write does not apply.
 * 3. Run the attempt (`runAttempt`): lease renewal, heartbeat, timeout, cancel checks, abandonment.
 * 4. Ask the lifecycle how the run goes on (`settleAttempt`) and write it as one compare-and-set;
 *    then the final event and ack, or a release for the retry.
 *
 * An infrastructure failure (a store or the queue down) ends as `error`, the message left to its
 * lease; a lost lease as `lease_lost`.
 */
export async function processMessage(
  message: ClaimedMessage,
  controller: AbortController,
  deps: WorkerDeps,
  started?: RunRecord,
): Promise<JobOutcome> {
  try {
    return await processOne(message, controller, deps, started);
  } catch (error) {
    if (!LeaseLostError.isInstance(error)) {
      deps.report(error);
      return 'error';
    }
    deps.emit('lease_lost', runIdOf(message), message);
    return 'lease_lost';
  }
}

async function processOne(
  message: ClaimedMessage,
  controller: AbortController,
  deps: WorkerDeps,
  started: RunRecord | undefined,
): Promise<JobOutcome> {
  const parsed = await parseMessage(message, deps);
  if ('error' in parsed) {
    // A second message of a run that already ended (a re-dispatch, a redelivery after the first
    // was dead-lettered) is a duplicate, not a second poison: one dead letter per run.
    const ended = parsed.runId === undefined ? undefined : await deps.runs.get(parsed.runId);
    if (ended && isFinal(ended.status)) return leftover(message, ended, deps);
    return deadLetter(message, parsed.runId, parsed.error, deps);
  }
  const { runId, handler, payload, trace } = parsed;
  const delivery = (): Delivery => ({
    runId,
    messageId: message.id,
    workerId: deps.workerId,
    now: Date.now(),
  });
  // A run's first delivery starts it in one write, without reading it first. Not under an
  // instrumentation, which is told the record as it was before the start (its queue wait).
  let record: RunRecord | undefined;
  if (deps.instrumentation?.attempt) record = await deps.runs.get(runId);
  else {
    const first = delivery();
    // The queue's claim may have made this write already (claimAndStart), for this very run.
    const ours = started?.runId === runId && started.messageId === message.id;
    if (started && !ours)
      deps.report(
        new Error(
          `[loopwork:worker] the ${deps.queue.adapter} queue's claimAndStart gave message ${message.id} (run "${runId}") the record of run "${started.runId}" from message ${started.messageId}: a bug in the queue adapter; the record is read instead`,
        ),
      );
    const written = ours ? started : await deps.runs.transition(runId, freshStart(first));
    if (written && confirmsFreshStart(written, first)) {
      deps.emit('claimed', written);
      // A claim that started the run wrote its first heartbeat too when the queue beats.
      const beaten = ours && deps.joint?.beats === true;
      const end = await runAttempt(message, written, handler, payload, controller, deps, beaten);
      return settle(message, written, end, handler, deps);
    }
    record = written ?? (await deps.runs.get(runId));
  }
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const verdict = classifyDelivery(record, delivery());
    if (verdict.kind === 'drop') return leftover(message, record, deps);
    if (verdict.kind === 'dead_letter') return deadLetter(message, undefined, verdict.error, deps);
    if (verdict.kind === 'end' && record) {
      const ended = await writeFinal(message, record, verdict.transition, deps);
      if (ended) return finish(message, ended, 'failed', deps);
      record = await deps.runs.get(runId);
      continue;
    }
    const written = await deps.runs.transition(runId, verdict.transition);
    if (!written) {
      record = await deps.runs.get(runId);
      continue;
    }
    deps.emit('claimed', written);
    const attempt = () => runAttempt(message, written, handler, payload, controller, deps);
    const { instrumentation } = deps;
    const end = instrumentation?.attempt
      ? await instrumentation.attempt(
          attemptInfo(message, record, written, handler, deps.workerId, trace),
          attempt,
        )
      : await attempt();
    return settle(message, written, end, handler, deps);
  }
  throw new Error(`[loopwork:worker] run "${runId}" kept changing while it was being started`);
}

/** The run a message is for, its handler and validated payload — or why it cannot be run. */
async function parseMessage(
  message: ClaimedMessage,
  deps: WorkerDeps,
): Promise<
  | { runId: string; handler: TaskHandler; payload: unknown; trace: TraceCarrier | undefined }
  | { runId?: string; error: RunError }
> {
  let envelope: ReturnType<typeof parseEnvelope>;
  try {
    envelope = parseEnvelope(message.body);
  } catch (error) {
    const why = runErrorOf(error, deps.redactor, 'malformed_message');
    return { error: { ...why, message: `malformed message: ${why.message}` } };
  }
  const { runId } = envelope;
  const handler = deps.handlers.get(envelope.type);
  if (!handler) {
    const text = `unknown task type "${envelope.type.slice(0, 100)}" on queue "${message.queue}"`;
    return { runId, error: runErrorOf(text, deps.redactor, 'unknown_task') };
  }
  try {
    const payload = await parsePayload(handler.task, envelope.payload);
    return { runId, handler, payload, trace: envelope.trace };
  } catch (error) {
    // Its message names the task and the field; the class name adds nothing to a dead letter.
    const text = error instanceof Error ? error.message : error;
    return { runId, error: runErrorOf(text, deps.redactor, 'invalid_payload') };
  }
}

/** What an instrumentation is told about the attempt `started` (its record before that: `before`). */
function attemptInfo(
  message: ClaimedMessage,
  before: RunRecord | undefined,
  started: RunRecord,
  handler: TaskHandler,
  workerId: string,
  trace: TraceCarrier | undefined,
): AttemptInfo {
  const claimable = before?.availableAt ?? before?.queuedAt ?? started.queuedAt;
  return {
    runId: started.runId,
    taskType: handler.task.type,
    queue: message.queue,
    attempt: started.attempt,
    maxAttempts: started.maxAttempts,
    deliveryCount: message.deliveryCount,
    messageId: message.id,
    workerId,
    queueWaitMs: Math.max(0, (started.startedAt ?? Date.now()) - claimable),
    ...(trace ? { trace } : {}),
  };
}

/** Settles the run after its attempt ended, by the lifecycle's decision, as one write. */
async function settle(
  message: ClaimedMessage,
  started: RunRecord,
  end: AttemptEnd,
  handler: TaskHandler,
  deps: WorkerDeps,
): Promise<JobOutcome> {
  if (end.kind === 'abandoned') return 'interrupted';
  if (end.kind === 'lost' || end.kind === 'superseded') {
    deps.emit('lease_lost', started.runId, message);
    // A run the watchdog put back in the queue needs this message again: hand it back.
    if (end.kind === 'superseded')
      await leftover(message, await deps.runs.get(started.runId), deps);
    return 'lease_lost';
  }
  let record: RunRecord | undefined = started;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const settlement = settleAttempt(
      record,
      started.attempt,
      end,
      handler.task.retryDelayMs,
      Date.now(),
    );
    if (settlement.kind === 'superseded' || !record) return leftover(message, record, deps);
    if (settlement.kind === 'final') {
      const ended = await writeFinal(message, record, settlement.transition, deps);
      if (ended)
        return finish(message, ended, end.kind === 'returned' ? 'completed' : 'failed', deps);
      record = await deps.runs.get(started.runId);
      continue;
    }
    const written = await deps.runs.transition(started.runId, settlement.transition);
    if (!written) {
      record = await deps.runs.get(started.runId);
      continue;
    }
    switch (settlement.kind) {
      case 'retry': {
        const retried: TaskEvent = {
          type: 'task-retried',
          runId: written.runId,
          attempt: written.attempt,
          error: settlement.error,
          delayMs: settlement.delayMs,
        };
        await appendEvent(written.runId, retried, deps);
        await settleQuietly(deps.queue.release(message, { delayMs: settlement.delayMs }));
        deps.emit('retrying', written, settlement.error, settlement.delayMs);
        return 'retrying';
      }
      case 'release':
        await settleQuietly(deps.queue.release(message));
        return 'interrupted';
    }
  }
  throw new Error(
    `[loopwork:worker] run "${started.runId}" kept changing while it was being settled`,
  );
}

/**
 * A run's final write, from `record` as it is at the transition's version; with the queue's joint
 * steps, the message's ack (and, where the queue appends events, the `task-finished` event) in the
 * same step. Resolves with the written record, or undefined when the write did not apply (nothing
 * else done).
 */
async function writeFinal(
  message: ClaimedMessage,
  record: RunRecord,
  transition: RunTransition,
  deps: WorkerDeps,
): Promise<Final | undefined> {
  const { joint } = deps;
  if (!joint) {
    const written = await deps.runs.transition(record.runId, transition);
    return written && { run: written, acked: false, appended: false };
  }
  if (!(joint.appendsEvents && deps.events)) {
    const written = await joint.transitionAndAck(record, transition, message);
    return written && { run: written, acked: true, appended: false };
  }
  // The event is made from the record as the write leaves it: the write is fenced on the version
  // `record` is at, so what it writes is known before it is sent.
  const event = deps.redactor.value(finishedEvent(afterTransition(record, transition)));
  const written = await joint.transitionAndAck(record, transition, message, event);
  return written && { run: written, acked: true, appended: true };
}

/** A final write done: the record, and whether the ack and the `task-finished` event went with it. */
interface Final {
  run: RunRecord;
  acked: boolean;
  appended: boolean;
}

/** `record` as `transition` leaves it (but for the store's own `version` and `updatedAt`). */
function afterTransition(record: RunRecord, transition: RunTransition): RunRecord {
  const next: RunRecord = { ...record, ...transition.set, status: transition.to };
  for (const field of transition.unset ?? []) delete next[field];
  return next;
}

/** After a run's final write ({@link writeFinal}): its `task-finished` event, the ack, the worker event. */
async function finish(
  message: ClaimedMessage,
  { run, acked, appended }: Final,
  kind: 'completed' | 'failed',
  deps: WorkerDeps,
): Promise<JobOutcome> {
  // Sent together: the ack does not wait for the event's reply (one round trip, not two). Both
  // only follow the final write; an append failure is reported and never holds the ack back.
  // With joint steps the final write already acked (and appended, where the queue can).
  await Promise.all([
    appended ? undefined : appendEvent(run.runId, finishedEvent(run), deps),
    acked ? undefined : settleQuietly(deps.queue.ack(message)),
  ]);
  if (run.status === 'cancelled') deps.emit('cancelled', run);
  else if (kind === 'completed') deps.emit('completed', run);
  else deps.emit('failed', run, run.error ?? { code: 'failed', message: run.status });
  return run.status as JobOutcome;
}

/**
 * A message whose run does not need it: acked — except for a run the watchdog put back in the
 * queue while this message still held it, which this message then carries (released, to start it).
 */
async function leftover(
  message: ClaimedMessage,
  record: RunRecord | undefined,
  deps: WorkerDeps,
): Promise<JobOutcome> {
  const settle =
    record?.status === 'queued' ? deps.queue.release(message) : deps.queue.ack(message);
  try {
    await settle;
  } catch (error) {
    if (LeaseLostError.isInstance(error)) return 'lease_lost';
    throw error;
  }
  return 'duplicate';
}

/**
 * Takes a message that names no runnable run out of circulation with its reason. Its run, when
 * it has one and this message holds it, ends `dead_lettered` first: a crash in between leaves a
 * final run and a message that is dropped on its next delivery, never a live run with no message.
 */
async function deadLetter(
  message: ClaimedMessage,
  runId: string | undefined,
  error: RunError,
  deps: WorkerDeps,
): Promise<JobOutcome> {
  // Reasons quote the message (a parse error shows its first bytes): bounded and redacted.
  const safe = { code: error.code, message: runErrorOf(error.message, deps.redactor).message };
  const run =
    runId === undefined ? undefined : await endDeadLettered(runId, message.id, safe, deps);
  await settleQuietly(deps.queue.deadLetter(message, safe.message));
  deps.emit('dead_lettered', run, safe, message);
  return 'dead_lettered';
}

/**
 * Ends a run `dead_lettered` when it is queued, or running from this message; a run that
 * already ended, or runs from another message, is left alone. Resolves with the written record.
 */
export async function endDeadLettered(
  runId: string,
  messageId: string,
  error: RunError,
  deps: Pick<WorkerDeps, 'runs' | 'events' | 'report' | 'redactor'>,
): Promise<RunRecord | undefined> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const record = await deps.runs.get(runId);
    if (!record || isFinal(record.status)) return undefined;
    if (record.status === 'running' && record.messageId !== messageId) return undefined;
    const written = await deps.runs.transition(runId, {
      from: [record.status],
      to: 'dead_lettered',
      version: record.version,
      set: { error, finishedAt: Date.now() },
    });
    if (!written) continue;
    await appendEvent(runId, finishedEvent(written), deps);
    return written;
  }
  return undefined;
}

/**
 * The worker's `onDeadLetter` for claims: a message the queue dead-letters for too many
 * deliveries ends its run `dead_lettered` first (the queue writes the letter once this resolves).
 */
export async function onQueueDeadLetter(letter: DeadLetter, deps: WorkerDeps): Promise<void> {
  let runId: string;
  try {
    runId = parseEnvelope(letter.body).runId;
  } catch {
    return; // no run to end
  }
  const error = runErrorOf(letter.reason, deps.redactor, 'max_deliveries');
  const run = await endDeadLettered(runId, letter.id, error, deps);
  deps.emit('dead_lettered', run, error, undefined);
}

async function appendEvent(
  runId: string,
  event: TaskEvent,
  deps: Pick<WorkerDeps, 'events' | 'report' | 'redactor'>,
): Promise<void> {
  await deps.events?.append(runId, deps.redactor.value(event)).catch(deps.report);
}

/** A settle whose lease is gone is no failure here: the record already says what happened. */
async function settleQuietly(settling: Promise<void>): Promise<void> {
  try {
    await settling;
  } catch (error) {
    if (!LeaseLostError.isInstance(error)) throw error;
  }
}

function runIdOf(message: ClaimedMessage): string {
  try {
    return parseEnvelope(message.body).runId;
  } catch {
    return '';
  }
}
