import {
  createEventEncoder,
  createMemoryEventLog,
  EVENT_LOG_DEFAULTS,
  InvalidOptionError,
} from 'loopwork';
import { describe, expect, it } from 'vitest';
import { rejectionOf } from '../helpers/rejection';

// The shared size check of the event logs. Both logs running it on append is covered by the
// event-log conformance suite (memory: test/conformance, Redis: test/adapters/redis).

describe('createEventEncoder', () => {
  it('keeps an event up to the limit (in UTF-8 bytes, not characters) and replaces a larger one', () => {
    const encode = createEventEncoder(1_024);
    // `{"type":"note","text":""}` is 25 bytes, and each 'é' 2 more.
    const fits = { type: 'note', text: `${'é'.repeat(499)}x` };
    expect(Buffer.byteLength(JSON.stringify(fits))).toBe(1_024);
    expect(encode(fits)).toEqual({ data: fits, json: JSON.stringify(fits) });

    const over = { type: 'note', text: 'é'.repeat(500) };
    expect(JSON.stringify(over).length).toBeLessThan(1_024); // by characters it would pass
    const placeholder = {
      type: 'event-too-large',
      originalType: 'note',
      bytes: 1_025,
      limit: 1_024,
    };
    expect(encode(over)).toEqual({ data: placeholder, json: JSON.stringify(placeholder) });
  });

  it('keeps the placeholder small: a long type is cut to 100 characters, a non-string type left out', () => {
    const encode = createEventEncoder(1_024);
    const longType = encode({ type: 't'.repeat(5_000) }).data as { originalType: string };
    expect(longType.originalType).toBe('t'.repeat(100));
    expect(encode({ type: 7, text: 'x'.repeat(2_000) }).data).toEqual({
      type: 'event-too-large',
      bytes: 2_020,
      limit: 1_024,
    });
    expect(encode('x'.repeat(2_000)).data).toEqual({
      type: 'event-too-large',
      bytes: 2_002,
      limit: 1_024,
    });
  });

  it('defaults to EVENT_LOG_DEFAULTS.maxEventBytes (1 MiB)', () => {
    expect(EVENT_LOG_DEFAULTS.maxEventBytes).toBe(1_048_576);
    const encode = createEventEncoder();
    const limit = EVENT_LOG_DEFAULTS.maxEventBytes;
    expect(encode('x'.repeat(limit - 2)).data).toBe('x'.repeat(limit - 2)); // with quotes: the limit
    expect(encode('x'.repeat(limit - 1)).data).toMatchObject({ bytes: limit + 1, limit });
  });

  it('stores undefined as null, and refuses data that has no JSON', () => {
    const encode = createEventEncoder();
    expect(encode(undefined).json).toBe('null');
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => encode(cycle)).toThrow(TypeError);
    expect(() => encode({ n: 1n })).toThrow(TypeError);
  });

  it('validates maxEventBytes, naming it (and the adapter)', () => {
    for (const bad of [-1, 0, 1_023, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createEventEncoder(bad)).toThrow(
        `maxEventBytes must be an integer of at least 1024, got ${bad}`,
      );
    }
    const error = (() => {
      try {
        createEventEncoder(-1, 'redis');
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error?.message).toBe(
      '[loopwork:redis] maxEventBytes must be an integer of at least 1024, got -1',
    );
  });
});

describe('createMemoryEventLog and maxEventBytes', () => {
  it('checks the option when the log is created', () => {
    expect(() => createMemoryEventLog({ maxEventBytes: 10 })).toThrow(/^maxEventBytes must be/);
  });

  it('a rejected append (no JSON) takes no id and leaves the log as it was', async () => {
    const log = createMemoryEventLog();
    const first = await log.append('r', { type: 'a' });
    const error = await rejectionOf(() => log.append('r', { type: 'b', n: 1n }));
    expect(error).toBeInstanceOf(TypeError);
    const third = await log.append('r', { type: 'c' });
    expect((await log.read('r')).map((e) => e.id)).toEqual([first, third]);
  });
});
