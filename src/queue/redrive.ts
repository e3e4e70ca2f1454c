import { createHash } from 'node:crypto';
import { ConflictError, InvalidOptionError } from '../errors';
import type { RunRecord, RunStore } from '../store/run-store';
import { TASK_DEFAULTS } from './defaults';
import { isFinal } from './lifecycle';
import type { DeadLetter, Queue } from './queue';
import { parseEnvelope, type TaskEnvelope } from './task';

/** What {@link Dispatcher.redrive} did with one dead letter. */
export interface RedriveResult {
  /** The letter's id. */
  letterId: string;
  /**
   * `redriven`: a new run, linked to the dead-lettered one by `redrivenFrom`, was dispatched with
   * the letter's payload, and the letter removed. `requeued`: the letter's run had not ended (its
   * message reached the dead-letter store without the worker ending it, as an SQS redrive policy
   * does), so the same run was enqueued again and the letter removed. `skipped`: nothing was done
   * and the letter stays; `reason` says why.
   */
  outcome: 'redriven' | 'requeued' | 'skipped';
  /** The run that now carries the letter's work (absent when skipped). */
  runId?: string;
  /** The run the letter's message was for, when its body names one. */
  fromRunId?: string;
  /** Why a letter was skipped. */
  reason?: string;
}

/** What the redrive needs from the dispatcher that calls it. */
export interface RedriveDeps {
  queue: Queue;
  runs: RunStore;
  /** Enqueues a recorded run on `queueName` (the dispatcher's enqueue, trace included). */
  enqueue(record: RunRecord, queueName: string): Promise<void>;
}

/**
 * The id of the run a letter is redriven into: the same for the same letter, so a redrive that is
 * repeated (after a crash, or by two operators at once) creates one run, not two. A UUID-shaped
 * digest of the old run id, queue and letter id.
 */
export function redriveRunId(fromRunId: string, letter: Pick<DeadLetter, 'queue' | 'id'>): string {
  const hex = createHash('sha256')
    .update(`loopwork.redrive\0${fromRunId}\0${letter.queue}\0${letter.id}`)
    .digest('hex');
  // Version 8 ("custom") and the RFC 9562 variant, so that the id reads as what it is.
  const variant = ((Number.parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Gives one dead letter's work another chance. The letter is removed only after its work is in
 * the queue, so a crash in between leaves the letter, and repeating the redrive does no harm: the
 * new run's id is derived from the letter ({@link redriveRunId}), so it is created once.
 */
export async function redriveLetter(deps: RedriveDeps, letter: DeadLetter): Promise<RedriveResult> {
  const { queue, runs } = deps;
  assertLetter(letter);
  const removeDeadLetter = queue.removeDeadLetter?.bind(queue);
  if (!removeDeadLetter) {
    throw new InvalidOptionError(
      `the ${queue.adapter} queue cannot remove dead letters (it has no removeDeadLetter()), so a redriven letter would stay and could be redriven twice; upgrade the adapter or dispatch the payload again yourself`,
    );
  }
  const skip = (reason: string, fromRunId?: string): RedriveResult => ({
    letterId: letter.id,
    outcome: 'skipped',
    reason,
    ...(fromRunId === undefined ? {} : { fromRunId }),
  });
  let envelope: TaskEnvelope;
  try {
    envelope = parseEnvelope(letter.body);
  } catch (error) {
    return skip(`not a loopwork task message (${(error as Error).message}); nothing to run`);
  }
  const fromRunId = envelope.runId;
  const record = await runs.get(fromRunId);
  if (record && !isFinal(record.status)) {
    await deps.enqueue(record, letter.queue);
    await removeDeadLetter(letter.queue, letter.id);
    return { letterId: letter.id, outcome: 'requeued', runId: fromRunId, fromRunId };
  }
  if (record && record.status !== 'dead_lettered') {
    return skip(
      `run ${fromRunId} already ended ${record.status}; the letter is a leftover copy of its message`,
      fromRunId,
    );
  }
  const runId = redriveRunId(fromRunId, letter);
  const next = redrivenRecord(runId, envelope, record, Date.now());
  try {
    await runs.create(next);
    await deps.enqueue(next, letter.queue);
  } catch (error) {
    // Created by an earlier redrive of this letter that stopped before removing it: its message
    // went out then, or the watchdog enqueues it, as for a dispatch.
    if (!ConflictError.isInstance(error)) throw error;
  }
  await removeDeadLetter(letter.queue, letter.id);
  return { letterId: letter.id, outcome: 'redriven', runId, fromRunId };
}

/** A queued run doing the dead-lettered run's work again: its payload, group, priority and attempts. */
function redrivenRecord(
  runId: string,
  envelope: TaskEnvelope,
  old: RunRecord | undefined,
  now: number,
): RunRecord {
  return {
    runId,
    taskType: old?.taskType ?? envelope.type,
    status: 'queued',
    payload: old?.payload ?? envelope.payload,
    attempt: 0,
    maxAttempts: old?.maxAttempts ?? TASK_DEFAULTS.maxAttempts,
    version: 1,
    ...(old?.groupId === undefined ? {} : { groupId: old.groupId }),
    ...(old?.priority === undefined ? {} : { priority: old.priority }),
    redrivenFrom: envelope.runId,
    queuedAt: now,
    updatedAt: now,
  };
}

/** A letter as `deadLetters()` gives it, or InvalidOptionError naming the field. */
function assertLetter(letter: DeadLetter): void {
  if (typeof letter !== 'object' || letter === null) {
    throw new InvalidOptionError(
      `redrive takes a dead letter as queue.deadLetters() returns it, got ${letter === null ? 'null' : typeof letter}`,
    );
  }
  for (const field of ['id', 'queue', 'body'] as const) {
    const value: unknown = letter[field];
    if (typeof value !== 'string' || (field !== 'body' && value === '')) {
      throw new InvalidOptionError(
        `dead letter field "${field}" must be a${field === 'body' ? '' : ' non-empty'} string, got ${String(JSON.stringify(value)).slice(0, 80)}; pass a letter as queue.deadLetters() returns it`,
      );
    }
  }
}
