const MARKER = Symbol.for('loopwork.follow-run-error');

/** What went wrong when following a run; stable, to branch on. */
export type FollowRunErrorCode =
  /** The server refused the request for good (400, 403, 404, 405 …): retrying cannot help. */
  | 'refused'
  /** Too many connections in a row failed (network errors, 5xx, 429); `cause` holds the last. */
  | 'unreachable'
  /** An option passed to {@link followRun} cannot work. */
  | 'invalid_option';

/**
 * The error {@link followRun} throws. Its own class, not the core's `LoopworkError`: the client
 * runs in browsers and imports nothing from the Node-side core.
 */
export class FollowRunError extends Error {
  /** Stable code; messages may change, codes do not. */
  readonly code: FollowRunErrorCode;
  /** HTTP status of the last response, when there was one. */
  readonly status: number | undefined;
  constructor(
    code: FollowRunErrorCode,
    message: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FollowRunError';
    this.code = code;
    this.status = options.status;
    Object.defineProperty(this, MARKER, { value: true });
  }

  /** True for a FollowRunError, even one from another copy of the package. */
  static isInstance(error: unknown): error is FollowRunError {
    return typeof error === 'object' && error !== null && MARKER in error;
  }
}
