import { randomUUID } from 'node:crypto';
import { type EnqueueOptions, InvalidOptionError } from 'loopwork';
import { delaySeconds } from './lease';
import { UNGROUPED } from './message-codec';

/** The SendMessage fields an enqueue adds. */
export interface SendFields {
  DelaySeconds?: number;
  MessageGroupId?: string;
  MessageDeduplicationId?: string;
}

function refuse(option: string, why: string): never {
  throw new InvalidOptionError(`[loopwork:sqs] ${option} is not supported: ${why}`);
}

/**
 * Checks enqueue options against what the queue type has, refusing (never ignoring) what SQS
 * lacks, and returns the SendMessage fields they map to.
 */
export function sendFields(options: EnqueueOptions, fifo: boolean): SendFields {
  const { priority, delayMs, dedupeId, groupId } = options;
  // 'normal' is the absence of a priority, which every queue has (the dispatcher always says it).
  if (priority !== undefined && priority !== 'normal') {
    refuse(
      `priority "${priority}"`,
      'SQS has no message priority (capabilities.priority is false); route urgent tasks to their own queue with their own workers',
    );
  }
  if (dedupeId !== undefined) {
    refuse(
      'dedupeId',
      'SQS deduplicates FIFO messages for 5 minutes after the send, not while the message is queued, and standard queues not at all (capabilities.dedupe is false); dispatch with a runId instead',
    );
  }
  const fields: SendFields = {};
  if (delayMs !== undefined && delayMs !== 0) {
    if (fifo)
      refuse('delayMs', 'FIFO queues have no per-message delay (capabilities.delay is false)');
    fields.DelaySeconds = delaySeconds(delayMs);
  }
  if (groupId !== undefined) {
    if (!fifo)
      refuse('groupId', 'standard queues do not order messages; use a FIFO queue (fifo: true)');
    if (!/^[\x21-\x7e]{1,128}$/.test(groupId)) {
      throw new InvalidOptionError(
        `[loopwork:sqs] groupId must be 1-128 printable ASCII characters without spaces, got ${JSON.stringify(groupId)}`,
      );
    }
  }
  if (fifo) {
    // An ungrouped message gets a group of its own, so ungrouped messages are not serialized
    // behind each other. The deduplication id is fresh per enqueue; the SDK's own retries resend
    // it unchanged, so a retried send is not enqueued twice.
    fields.MessageGroupId = groupId ?? `${UNGROUPED}${randomUUID()}`;
    fields.MessageDeduplicationId = randomUUID();
  }
  return fields;
}
