import {
  ConflictError,
  createMemorySessionStore,
  InvalidOptionError,
  InvalidStateError,
  LoopworkError,
  ModelError,
  type ModelErrorKind,
  modelErrorKindFromStatus,
  parseRetryAfter,
  type RunState,
} from 'loopwork';
import { describe, expect, it, vi } from 'vitest';
import { rejectionOf } from './helpers';

const MARKER = Symbol.for('loopwork.error');

/** What an error thrown by another copy of loopwork looks like to this one: same marker, other class. */
function fromOtherCopy(code: string, message = 'from the other copy') {
  class OtherLoopworkError extends Error {
    readonly code = code;
    readonly retryable = false;
  }
  const error = new OtherLoopworkError(message);
  Object.defineProperty(error, MARKER, { value: true });
  return error;
}

describe('LoopworkError.isInstance', () => {
  it('recognizes errors of this copy, subclasses included', () => {
    const errors = [
      new LoopworkError('invalid_option', 'x'),
      new InvalidOptionError('x'),
      new InvalidStateError('x'),
      new ConflictError('x', 1, 2),
      new ModelError('x', { kind: 'auth', provider: 'p' }),
    ];
    for (const error of errors) {
      expect(LoopworkError.isInstance(error)).toBe(true);
      expect(error).toBeInstanceOf(LoopworkError);
    }
  });

  it('recognizes errors of another copy of the package, by the Symbol.for marker', () => {
    const conflict = fromOtherCopy('conflict');
    expect(conflict).not.toBeInstanceOf(LoopworkError);
    expect(LoopworkError.isInstance(conflict)).toBe(true);
    expect(ConflictError.isInstance(conflict)).toBe(true);
    expect(InvalidOptionError.isInstance(conflict)).toBe(false);
    expect(ModelError.isInstance(fromOtherCopy('model_error'))).toBe(true);
    expect(InvalidStateError.isInstance(fromOtherCopy('invalid_state'))).toBe(true);
    expect(InvalidOptionError.isInstance(fromOtherCopy('invalid_option'))).toBe(true);
  });

  it('rejects everything else, including look-alikes without the marker', () => {
    for (const value of [
      new Error('x'),
      { code: 'conflict', retryable: false },
      null,
      undefined,
      'conflict',
      42,
    ]) {
      expect(LoopworkError.isInstance(value)).toBe(false);
      expect(ConflictError.isInstance(value)).toBe(false);
    }
    expect(InvalidOptionError.isInstance(new InvalidStateError('x'))).toBe(false);
    expect(ModelError.isInstance(new InvalidOptionError('x'))).toBe(false);
  });

  it('the marker is a hidden property: it does not show up in keys or JSON', () => {
    const error = new InvalidOptionError('bad');
    expect(Object.getOwnPropertySymbols(error)).toContain(MARKER);
    expect(Object.keys(error)).not.toContain(MARKER.toString());
    expect(JSON.stringify(error)).not.toContain('loopwork.error');
  });

  it('carries a stable code, a name, retryable and a cause', () => {
    const cause = new Error('root');
    const base = new LoopworkError('conflict', 'message', { retryable: true, cause });
    expect([base.code, base.name, base.message, base.retryable, base.cause]).toEqual([
      'conflict',
      'LoopworkError',
      'message',
      true,
      cause,
    ]);
    expect(new LoopworkError('conflict', 'm').retryable).toBe(false);
    expect(new LoopworkError('conflict', 'm')).not.toHaveProperty('cause');
    expect([new InvalidOptionError('m').name, new InvalidOptionError('m').code]).toEqual([
      'InvalidOptionError',
      'invalid_option',
    ]);
    const state = new InvalidStateError('m', { cause });
    expect([state.name, state.code, state.cause]).toEqual([
      'InvalidStateError',
      'invalid_state',
      cause,
    ]);
  });

  it('ConflictError from the memory store carries both versions', async () => {
    const store = createMemorySessionStore();
    const state = { runId: 'k' } as RunState;
    expect(await store.save('k', state, null)).toBe(1);
    expect(await store.save('k', state, 1)).toBe(2);
    const error = await rejectionOf(() => store.save('k', state, 1));
    expect(ConflictError.isInstance(error)).toBe(true);
    expect([
      (error as ConflictError).expectedVersion,
      (error as ConflictError).actualVersion,
    ]).toEqual([1, 2]);
    expect(error.message).toBe(
      '[loopwork:memory] checkpoint "k" is at version 2, the write expected 1; reload and retry',
    );
    const fresh = await rejectionOf(() => store.save('new', state, 3));
    expect([
      (fresh as ConflictError).expectedVersion,
      (fresh as ConflictError).actualVersion,
    ]).toEqual([3, null]);
  });
});

describe('ModelError', () => {
  const retryable: ModelErrorKind[] = ['rate_limit', 'overloaded', 'server', 'network', 'timeout'];
  const fatal: ModelErrorKind[] = [
    'auth',
    'invalid_request',
    'not_found',
    'context_length',
    'content_filter',
  ];

  it('is retryable by default for transient kinds only', () => {
    for (const kind of retryable)
      expect(new ModelError('m', { kind, provider: 'p' }).retryable, kind).toBe(true);
    for (const kind of fatal)
      expect(new ModelError('m', { kind, provider: 'p' }).retryable, kind).toBe(false);
  });

  it('retryable can be overridden either way', () => {
    expect(
      new ModelError('m', { kind: 'rate_limit', provider: 'p', retryable: false }).retryable,
    ).toBe(false);
    expect(new ModelError('m', { kind: 'auth', provider: 'p', retryable: true }).retryable).toBe(
      true,
    );
  });

  it('keeps kind, provider, status, retryAfterMs and cause', () => {
    const cause = new Error('socket hang up');
    const error = new ModelError('[loopwork:x] 429 slow down', {
      kind: 'rate_limit',
      provider: 'x',
      status: 429,
      retryAfterMs: 1500,
      cause,
    });
    expect(error).toMatchObject({
      name: 'ModelError',
      code: 'model_error',
      message: '[loopwork:x] 429 slow down',
      kind: 'rate_limit',
      provider: 'x',
      status: 429,
      retryAfterMs: 1500,
    });
    expect(error.cause).toBe(cause);
    const bare = new ModelError('m', { kind: 'network', provider: 'x' });
    expect([bare.status, bare.retryAfterMs]).toEqual([undefined, undefined]);
  });
});

describe('modelErrorKindFromStatus', () => {
  it.each([
    [400, 'invalid_request'],
    [401, 'auth'],
    [403, 'auth'],
    [404, 'not_found'],
    [408, 'timeout'],
    [409, 'invalid_request'],
    [413, 'context_length'],
    [422, 'invalid_request'],
    [429, 'rate_limit'],
    [500, 'server'],
    [502, 'server'],
    [503, 'overloaded'],
    [504, 'server'],
    [529, 'overloaded'],
  ] as const)('%i → %s', (status, kind) => {
    expect(modelErrorKindFromStatus(status)).toBe(kind);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  const parse = (headers: Record<string, string>) => parseRetryAfter(new Headers(headers), now);

  it('retry-after in seconds', () => {
    expect(parse({ 'retry-after': '2' })).toBe(2000);
    expect(parse({ 'retry-after': '0' })).toBe(0);
    expect(parse({ 'retry-after': '1.5' })).toBe(1500);
  });

  it('retry-after-ms in milliseconds, preferred over retry-after', () => {
    expect(parse({ 'retry-after-ms': '250' })).toBe(250);
    expect(parse({ 'retry-after-ms': '12.5', 'retry-after': '30' })).toBe(12.5);
    // A bad retry-after-ms falls back to retry-after.
    expect(parse({ 'retry-after-ms': 'soon', 'retry-after': '3' })).toBe(3000);
  });

  it('retry-after as an HTTP date, relative to now; a past date means now', () => {
    expect(parse({ 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' })).toBe(30_000);
    expect(parse({ 'retry-after': 'Tue, 31 Dec 2024 23:59:00 GMT' })).toBe(0);
    // The obsolete RFC 850 form that HTTP recipients must still accept.
    expect(parse({ 'retry-after': 'Wednesday, 01-Jan-25 00:01:00 GMT' })).toBe(60_000);
  });

  it('absent or garbage values are undefined, never "retry now"', () => {
    expect(parse({})).toBeUndefined();
    for (const garbage of [
      'soon',
      '',
      '-5',
      '5abc',
      'later 5',
      'abc 12',
      '1e3',
      'Infinity',
      'NaN',
    ]) {
      expect(parse({ 'retry-after': garbage }), JSON.stringify(garbage)).toBeUndefined();
      expect(parse({ 'retry-after-ms': garbage }), JSON.stringify(garbage)).toBeUndefined();
    }
  });

  it('uses the current time by default', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(now);
      expect(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:01:00 GMT' }))).toBe(
        60_000,
      );
    } finally {
      vi.useRealTimers();
    }
  });
});
