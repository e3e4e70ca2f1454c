/** The CLI's exit codes, one per kind of outcome a script may want to branch on. */
export const EXIT = {
  ok: 0,
  /** Something failed that is not one of the cases below (the message says what). */
  failure: 1,
  /** The command line is wrong: unknown command or option, bad value, bad backend URL. */
  usage: 2,
  /** The run (or queue entry) named does not exist. */
  notFound: 3,
  /** The backend needs a package that is not installed (`ioredis`, `pg`). */
  missingPeer: 4,
  /** The backend could not be reached (connection refused, authentication, no such schema). */
  unreachable: 5,
  /** `runs tail` followed a run that ended in another status than `completed`. */
  runNotCompleted: 6,
  /** Interrupted (Ctrl-C). */
  interrupted: 130,
} as const;

/** An error the CLI reports as one line on stderr and the exit code it carries. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A URL with its password replaced, safe to print. */
export function safeUrl(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password) copy.password = '***';
  return copy.href;
}
