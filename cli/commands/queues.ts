import type { Backend } from '../backend';
import type { CommandContext } from '../command';
import { CliError, EXIT } from '../exit';
import { short, table } from '../output';

/** The `--queue` names given, or a usage CliError. */
function queuesOf(context: CommandContext): string[] {
  const queues = (context.values.queue as string[] | undefined) ?? [];
  if (queues.length === 0) {
    throw new CliError(
      EXIT.usage,
      '--queue is required (the queue name your tasks use; repeat it for several)',
    );
  }
  return queues;
}

/** `dead-letters list --queue q`: the queue's dead letters, oldest first. */
export async function listDeadLetters(backend: Backend, context: CommandContext): Promise<number> {
  const limit = context.integer('limit', 100);
  const letters = [];
  for (const queue of queuesOf(context))
    letters.push(...(await backend.queue.deadLetters(queue, { limit })));
  const { out } = context;
  if (context.values.json) {
    out.line(JSON.stringify({ deadLetters: letters }));
    return EXIT.ok;
  }
  if (letters.length === 0) {
    out.line('no dead letters');
    return EXIT.ok;
  }
  out.line(
    table(
      ['ID', 'QUEUE', 'RUN', 'DELIVERIES', 'REASON'],
      letters.map((letter) => [
        short(letter.id, 40),
        short(letter.queue, 30),
        short(runIdOf(letter.body), 40),
        String(letter.deliveryCount),
        short(letter.reason, 100),
      ]),
    ),
  );
  return EXIT.ok;
}

/** The run id in a task envelope, when the body is one. */
function runIdOf(body: string): string {
  try {
    const runId = (JSON.parse(body) as { runId?: unknown }).runId;
    return typeof runId === 'string' ? runId : '-';
  } catch {
    return '-';
  }
}

/** `queues stats --queue q`: message counts by state, where the queue adapter can count them. */
export async function queueStats(backend: Backend, context: CommandContext): Promise<number> {
  const { queue } = backend;
  if (typeof queue.stats !== 'function') {
    throw new CliError(
      EXIT.failure,
      `the ${queue.adapter} queue adapter cannot count its messages (it has no stats())`,
    );
  }
  const rows = [];
  for (const name of queuesOf(context)) rows.push({ queue: name, ...(await queue.stats(name)) });
  const { out } = context;
  if (context.values.json) {
    out.line(JSON.stringify({ queues: rows }));
    return EXIT.ok;
  }
  out.line(
    table(
      ['QUEUE', 'READY', 'DELAYED', 'LEASED', 'DEAD'],
      rows.map((row) => [
        short(row.queue, 40),
        String(row.ready),
        String(row.delayed),
        String(row.leased),
        String(row.deadLettered),
      ]),
    ),
  );
  return EXIT.ok;
}
