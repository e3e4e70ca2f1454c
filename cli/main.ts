#!/usr/bin/env node
/**
 * The `loopwork` command: inspect and manage runs, dead letters and queues of a deployment,
 * given by URL (`redis://…` or `postgres://…`). See docs/cli.md.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type Backend, openBackend } from './backend';
import { createContext } from './command';
import { listDeadLetters, redriveDeadLetters } from './commands/dead-letters';
import { queueStats } from './commands/queues';
import { cancelRun, listRuns, showRun, tailRun } from './commands/runs';
import { CliError, EXIT } from './exit';
import { createOutput, type Output } from './output';

type Options = NonNullable<ParseArgsConfig['options']>;

const GLOBAL: Options = {
  url: { type: 'string' },
  prefix: { type: 'string' },
  schema: { type: 'string' },
  json: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

interface Command {
  usage: string;
  summary: string;
  options: Options;
  run(backend: Backend, context: ReturnType<typeof createContext>): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  'runs list': {
    usage: 'loopwork runs list [--status S] [--task-type T] [--group G] [--limit N] [--cursor C]',
    summary: 'list runs, newest first',
    options: {
      status: { type: 'string' },
      'task-type': { type: 'string' },
      group: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
    },
    run: listRuns,
  },
  'runs show': {
    usage: 'loopwork runs show <run-id>',
    summary: "a run's record and its turns: tokens, cost, tool calls",
    options: {},
    run: showRun,
  },
  'runs tail': {
    usage: 'loopwork runs tail <run-id> [--after EVENT-ID]',
    summary: 'follow a run live until it ends (exit 0 if it completed, 6 if it ended otherwise)',
    options: { after: { type: 'string' } },
    run: tailRun,
  },
  'runs cancel': {
    usage: 'loopwork runs cancel <run-id> [--reason TEXT]',
    summary: 'cancel a queued or running run',
    options: { reason: { type: 'string' } },
    run: cancelRun,
  },
  'dead-letters list': {
    usage: 'loopwork dead-letters list --queue Q [--queue Q2 …] [--limit N]',
    summary: "a queue's dead letters, oldest first",
    options: { queue: { type: 'string', multiple: true }, limit: { type: 'string' } },
    run: listDeadLetters,
  },
  'dead-letters redrive': {
    usage:
      'loopwork dead-letters redrive --queue Q [--queue Q2 …] (<letter-id> … | --all [--limit N])',
    summary:
      'dispatch the letters’ work again as new runs linked to the dead-lettered ones, then remove the letters',
    options: {
      queue: { type: 'string', multiple: true },
      all: { type: 'boolean' },
      limit: { type: 'string' },
    },
    run: redriveDeadLetters,
  },
  'queues stats': {
    usage: 'loopwork queues stats --queue Q [--queue Q2 …]',
    summary: 'messages ready, delayed, leased and dead-lettered',
    options: { queue: { type: 'string', multiple: true } },
    run: queueStats,
  },
};

const HELP = `loopwork: inspect and manage runs, dead letters and queues

Usage:
${Object.values(COMMANDS)
  .map((command) => `  ${command.usage}\n      ${command.summary}`)
  .join('\n')}

Backend (every command):
  --url URL       redis://… or postgres://… (default: $LOOPWORK_URL)
  --prefix P      key prefix of the Redis adapters (default: loopwork)
  --schema S      schema of the Postgres adapters (default: loopwork)
Output:
  --json          machine-readable output (runs tail: one JSON event per line)
  --no-color      no colours (also: NO_COLOR=1; colours are only used on a terminal)

Exit codes: 0 ok, 1 failure (or a letter skipped), 2 usage, 3 run or letter not found, 4 missing package, 5 backend unreachable,
6 tailed run ended but did not complete, 130 interrupted.`;

/** Runs the CLI with `argv` (without node and script) and resolves with the exit code. */
export async function main(
  argv: readonly string[],
  out: Output,
  signal: AbortSignal,
): Promise<number> {
  const [group, verb] = argv;
  if (group === undefined || group === '--help' || group === '-h' || group === 'help') {
    out.line(HELP);
    return group === undefined ? EXIT.usage : EXIT.ok;
  }
  const name = `${group} ${verb ?? ''}`.trim();
  const command = COMMANDS[name];
  if (!command) {
    const known = Object.keys(COMMANDS).filter((key) => key.startsWith(`${group} `));
    throw new CliError(
      EXIT.usage,
      known.length > 0
        ? `unknown command "${name}"; "${group}" takes: ${known.map((key) => key.split(' ')[1]).join(', ')}`
        : `unknown command "${group}"; run loopwork --help`,
    );
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv.slice(2) as string[],
      options: { ...GLOBAL, ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new CliError(
      EXIT.usage,
      `${(error as Error).message.split('\n')[0]}\nusage: ${command.usage}`,
    );
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (values.help) {
    out.line(`${command.usage}\n  ${command.summary}`);
    return EXIT.ok;
  }
  const context = createContext(values, parsed.positionals, out, signal, command.usage);
  const backend = await openBackend({
    url: (values.url as string | undefined) ?? process.env.LOOPWORK_URL,
    prefix: values.prefix as string | undefined,
    schema: values.schema as string | undefined,
  });
  try {
    return await command.run(backend, context);
  } finally {
    await backend.close().catch(() => {});
  }
}

async function run(): Promise<void> {
  const argv = process.argv.slice(2);
  const out = createOutput(process.stdout, process.stderr, {
    noColor: argv.includes('--no-color'),
  });
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  let code: number;
  try {
    code = await main(argv, out, controller.signal);
  } catch (error) {
    if (error instanceof CliError) {
      out.error(`loopwork: ${error.message}`);
      code = error.exitCode;
    } else {
      out.error(`loopwork: ${(error as Error)?.message ?? String(error)}`);
      code = EXIT.failure;
    }
  }
  process.exitCode = code;
}

void run();
