const MARKER = Symbol.for('loopwork.error');

/** Stable machine-readable codes carried by every {@link LoopworkError}. */
export type LoopworkErrorCode =
  | 'invalid_option'
  | 'invalid_state'
  | 'model_error'
  | 'conflict'
  | 'lease_lost'
  | 'invalid_payload'
  | 'budget_exceeded'
  | 'script_exhausted'
  /** A write the server took but fewer replicas than asked confirmed (Redis `waitReplicas`). */
  | 'not_replicated'
  | 'invalid_output';

/**
 * Base class of every error loopwork throws.
 *
 * Use {@link LoopworkError.isInstance} rather than `instanceof`: it also recognizes errors thrown
 * by another copy of the package (two versions in one `node_modules` tree).
 */
export class LoopworkError extends Error {
  /** Stable code to branch on; messages may change, codes do not. */
  readonly code: LoopworkErrorCode;
  /** Whether trying the same operation again may succeed. */
  readonly retryable: boolean;
  constructor(
    code: LoopworkErrorCode,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LoopworkError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    Object.defineProperty(this, MARKER, { value: true });
  }

  /** True for any loopwork error, even one created by a different copy of the package. */
  static isInstance(error: unknown): error is LoopworkError {
    return typeof error === 'object' && error !== null && MARKER in error;
  }
}

/** A caller passed an option or argument that cannot work. The message names the option. */
export class InvalidOptionError extends LoopworkError {
  constructor(message: string) {
    super('invalid_option', message);
    this.name = 'InvalidOptionError';
  }

  static isInstance(error: unknown): error is InvalidOptionError {
    return LoopworkError.isInstance(error) && error.code === 'invalid_option';
  }
}

/** Persisted run state failed validation (corrupt, or written by an incompatible version). */
export class InvalidStateError extends LoopworkError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('invalid_state', message, options);
    this.name = 'InvalidStateError';
  }

  static isInstance(error: unknown): error is InvalidStateError {
    return LoopworkError.isInstance(error) && error.code === 'invalid_state';
  }
}

/** An optimistic-concurrency write lost: someone else wrote since the version you read. */
export class ConflictError extends LoopworkError {
  constructor(
    message: string,
    /** The version the writer expected. */
    readonly expectedVersion: number | null,
    /** The version actually stored. */
    readonly actualVersion: number | null,
  ) {
    super('conflict', message);
    this.name = 'ConflictError';
  }

  static isInstance(error: unknown): error is ConflictError {
    return LoopworkError.isInstance(error) && error.code === 'conflict';
  }
}

/** A queue operation named a delivery whose lease had run out (the message may be with someone else now). */
export class LeaseLostError extends LoopworkError {
  constructor(message: string) {
    super('lease_lost', message);
    this.name = 'LeaseLostError';
  }

  static isInstance(error: unknown): error is LeaseLostError {
    return LoopworkError.isInstance(error) && error.code === 'lease_lost';
  }
}

/** A task payload failed its schema. The message names the task type and the field. */
export class InvalidPayloadError extends LoopworkError {
  constructor(message: string) {
    super('invalid_payload', message);
    this.name = 'InvalidPayloadError';
  }

  static isInstance(error: unknown): error is InvalidPayloadError {
    return LoopworkError.isInstance(error) && error.code === 'invalid_payload';
  }
}

/**
 * A run with an `output` schema ended without a valid answer: the model's answers kept failing
 * validation past `maxOutputRetries`, or a limit (turns, tokens, cost) ended the run while it was
 * still correcting one. Not retryable: the run's checkpoint already counts the refused answers.
 */
export class OutputValidationError extends LoopworkError {
  constructor(
    message: string,
    /** Why the last answer was refused (bad JSON, or the schema's issues), as the model was told. */
    readonly issues: string,
    /** Answers refused over the run. */
    readonly refused: number,
  ) {
    super('invalid_output', message);
    this.name = 'OutputValidationError';
  }

  static isInstance(error: unknown): error is OutputValidationError {
    return LoopworkError.isInstance(error) && error.code === 'invalid_output';
  }
}
