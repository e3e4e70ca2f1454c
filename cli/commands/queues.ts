import type { Backend } from '../backend';
import type { CommandContext } from '../command';
import { CliError, EXIT } from '../exit';
import { short, table } from '../output';

/** The `--queue` names given, or a usage CliError. */
export function queuesOf(context: CommandContext): string[] {
  const queues = (context.values.queue as string[] | undefined) ?? [];
  if (queues.length === 0) {
    throw new CliError(
      EXIT.usage,
      '--queue is required (the queue name your tasks use; repeat it for several)',
    );
  }
  return queues;
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
