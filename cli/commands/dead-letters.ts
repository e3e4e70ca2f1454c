import type { DeadLetter, RedriveResult } from 'loopwork';
import type { Backend } from '../backend';
import type { CommandContext } from '../command';
import { CliError, EXIT } from '../exit';
import { short, table } from '../output';
import { queuesOf } from './queues';

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

/**
 * `dead-letters redrive --queue q (<letter-id>… | --all)`: each letter's work dispatched again
 * (`Dispatcher.redrive`), then the letter removed. Exit 0 when every letter named was redriven,
 * 3 when one was not found, 1 when one was skipped (it stays; the reason is printed).
 */
export async function redriveDeadLetters(
  backend: Backend,
  context: CommandContext,
): Promise<number> {
  const { values, positionals, out } = context;
  const all = values.all === true;
  if (all === positionals.length > 0) {
    throw new CliError(
      EXIT.usage,
      all
        ? 'pass either letter ids or --all, not both'
        : 'name the letters to redrive (their ids, from dead-letters list) or pass --all',
    );
  }
  const limit = context.integer('limit', all ? 100 : 1_000);
  const letters: DeadLetter[] = [];
  for (const queue of queuesOf(context))
    letters.push(...(await backend.queue.deadLetters(queue, { limit })));
  const chosen = all ? letters : positionals.map((id) => findLetter(letters, id, limit));
  const results: RedriveResult[] = [];
  for (const letter of chosen) {
    if (context.signal.aborted) break;
    results.push(await backend.dispatcher.redrive(letter));
  }
  const skipped = results.filter((result) => result.outcome === 'skipped').length;
  if (values.json) out.line(JSON.stringify({ results }));
  else if (results.length === 0) out.line('no dead letters');
  else {
    out.line(
      table(
        ['LETTER', 'FROM RUN', 'OUTCOME', 'RUN / REASON'],
        results.map((result) => [
          short(result.letterId, 40),
          short(result.fromRunId ?? '-', 40),
          out.paint(result.outcome === 'skipped' ? 'yellow' : 'green', result.outcome),
          short(result.runId ?? result.reason ?? '', 100),
        ]),
      ),
    );
    if (skipped > 0) out.line(`${skipped} skipped: they stay in the dead letters`);
  }
  if (context.signal.aborted) return EXIT.interrupted;
  return skipped > 0 ? EXIT.failure : EXIT.ok;
}

/** The letter with this id among those listed, or a not-found CliError. */
function findLetter(letters: readonly DeadLetter[], id: string, limit: number): DeadLetter {
  const letter = letters.find((candidate) => candidate.id === id);
  if (letter) return letter;
  throw new CliError(
    EXIT.notFound,
    `no dead letter "${short(id, 80)}" among the oldest ${limit} of each --queue (see dead-letters list; --limit looks further, up to 1000)`,
  );
}
