import { CliError, EXIT } from './exit';
import type { Output } from './output';

/** What a command gets: its parsed options and positionals, the output, and Ctrl-C's signal. */
export interface CommandContext {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  out: Output;
  signal: AbortSignal;
  /** The run id positional, or a usage CliError. */
  runId(): string;
  /** An integer option within 1..1000, or a usage CliError naming it. */
  integer(name: string, fallback: number): number;
}

/** Builds the context of one command invocation. */
export function createContext(
  values: CommandContext['values'],
  positionals: string[],
  out: Output,
  signal: AbortSignal,
  usage: string,
): CommandContext {
  return {
    values,
    positionals,
    out,
    signal,
    runId() {
      const [runId, ...rest] = positionals;
      if (!runId) throw new CliError(EXIT.usage, `missing the run id: ${usage}`);
      if (rest.length > 0)
        throw new CliError(EXIT.usage, `unexpected argument "${rest[0]}": ${usage}`);
      return runId;
    },
    integer(name, fallback) {
      const raw = values[name];
      if (raw === undefined) return fallback;
      const value = Number(raw);
      if (!(typeof raw === 'string' && /^\d+$/.test(raw) && value >= 1 && value <= 1_000)) {
        throw new CliError(
          EXIT.usage,
          `--${name} must be an integer from 1 to 1000, got ${JSON.stringify(raw)}`,
        );
      }
      return value;
    },
  };
}
