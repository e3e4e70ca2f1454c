// The redactor's walk, rule by rule (docs/security.md, "What is redacted"). The fuzz test
// (redact-fuzz.test.ts) mixes these rules at random; here each one is pinned down alone.
import { inspect } from 'node:util';
import { createRedactor, InvalidOptionError, LoopworkError, ModelError } from 'loopwork';
import { describe, expect, it } from 'vitest';

const KEY = 'sk-ant-api03-UnitTestKeyNotReal-0123456789';
const TOKEN = 'tok+live/7f3a9c2e=QzX81';
const redactor = createRedactor({ secrets: [TOKEN] });
const R = '[REDACTED]';

/** Every way a log or store shows a value, in one string (what a rendering threw, if it threw). */
const shown = (value: unknown) =>
  [
    () => inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
    () => JSON.stringify(value) ?? '',
    () => String(value),
  ]
    .map((render) => {
      try {
        return render();
      } catch (error) {
        return String(error);
      }
    })
    .join('\n');
const hides = (value: unknown) => {
  const text = shown(value);
  return !text.includes(KEY) && !text.includes('7f3a9c2e');
};

class Holder {
  constructor(
    readonly data: unknown,
    readonly id = 1,
  ) {}
  describe() {
    return `holder ${this.id}`;
  }
}

describe('value(): what it walks', () => {
  it('returns the same value, deeply, when nothing is hidden', () => {
    const url = new URL('https://api.example.com/v1?q=1');
    const date = new Date(0);
    const bytes = Buffer.alloc(16, 1);
    const values = [
      { a: 1, b: { c: 'x', d: [1, 'two', { e: null }] } },
      Object.assign(Object.create(null), { a: 'x' }),
      new Map([['k', { v: 1 }]]),
      new Set(['a', 1]),
      new Holder('clean'),
      url,
      date,
      bytes,
      new Float64Array([1.5]),
      new Error('clean'),
      'text',
      42,
      undefined,
    ];
    for (const value of values) expect(redactor.value(value)).toBe(value);
  });

  it('hides secrets in class instances (as plain objects of their own properties) and null-prototype objects', () => {
    const out = redactor.value({
      holder: new Holder(KEY),
      bare: Object.assign(Object.create(null), { t: TOKEN }),
    });
    expect(out.holder).toEqual({ data: R, id: 1 });
    expect(Object.getPrototypeOf(out.holder)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(out.bare)).toBeNull();
    expect(out.bare.t).toBe(R);
  });

  it("uses toJSON() when an object has one, as JSON would (a private field's secret included)", () => {
    class Wrapped {
      #inner = `key ${KEY}`;
      toJSON() {
        return { inner: this.#inner };
      }
    }
    expect(redactor.value(new Wrapped())).toEqual({ inner: `key ${R}` });
    expect(redactor.value({ toJSON: () => TOKEN })).toBe(R);
  });

  it('hides property names, keeping names that redact alike apart', () => {
    const out = redactor.value({ [KEY]: 1, [TOKEN]: 2, [R]: 3, plain: 4 });
    expect(out).toEqual({ [R]: 3, [`${R} (2)`]: 1, [`${R} (3)`]: 2, plain: 4 });
  });

  it('walks Maps (keys and values) and Sets', () => {
    const map = redactor.value(
      new Map<unknown, unknown>([
        [KEY, 'v'],
        ['k', TOKEN],
        [{ key: KEY }, 1],
      ]),
    );
    expect([...map.keys()].slice(0, 2)).toEqual([R, 'k']);
    expect(map.get('k')).toBe(R);
    expect([...map.keys()][2]).toEqual({ key: R });
    expect(redactor.value(new Set([KEY, TOKEN, 'x']))).toEqual(new Set([R, `${R} (2)`, 'x']));
  });

  it("hides a URL's userinfo, query and path, encoded or not, and returns its redacted href", () => {
    const url = new URL(`https://user:${encodeURIComponent(TOKEN)}@api.example.com/keys/${KEY}`);
    url.searchParams.set('api_key', TOKEN);
    url.searchParams.set('page', '2');
    const out = redactor.value(url);
    expect(out).toBe(`https://user:${R}@api.example.com/keys/${R}?api_key=${R}&page=2`);
    expect(redactor.value(new URL(`https://x.example/#token=${KEY}`))).toBe(
      `https://x.example/#token=${R}`,
    );
  });

  it('scans byte arrays as text, changing no other byte, and copies a view out of a shared buffer', () => {
    const bytes = Buffer.concat([
      Buffer.from([0xff, 0x00]),
      Buffer.from(` ${KEY} `),
      Buffer.from([0xfe]),
    ]);
    const out = redactor.value(bytes);
    expect(Buffer.isBuffer(out)).toBe(true);
    expect([...out]).toEqual([0xff, 0x00, ...Buffer.from(` ${R} `), 0xfe]);
    expect(redactor.value(new TextEncoder().encode(TOKEN))).toEqual(new TextEncoder().encode(R));
    expect(Buffer.from(redactor.value(new TextEncoder().encode(KEY).buffer)).toString()).toBe(R);

    // A view over part of a larger buffer (as every small Buffer is, in Node's shared pool):
    // structuredClone would copy the whole buffer, secret next door included.
    const slab = Buffer.from(`Authorization: Bearer ${TOKEN} | clean`);
    const small = slab.subarray(slab.length - 5);
    const copy = redactor.value(small);
    expect(copy.toString()).toBe('clean');
    expect(copy.buffer.byteLength).toBe(5);
    expect(Buffer.from(structuredClone(copy).buffer).toString('latin1')).not.toContain('7f3a9c2e');
  });

  it('copies errors inside values, leaving the original as it was', () => {
    const error = new TypeError(`bad key ${KEY}`);
    const out = redactor.value({ error });
    expect(out.error).toBeInstanceOf(TypeError);
    expect(out.error.message).toBe(`bad key ${R}`);
    expect(error.message).toContain(KEY);
  });

  it('hides boxed strings, regular expressions and symbol keys and descriptions', () => {
    const out = redactor.value({
      boxed: new String(KEY),
      re: new RegExp(TOKEN.replace(/[+/=]/g, '\\$&')),
      [Symbol('kOutHeaders')]: { authorization: `Bearer ${TOKEN}` },
      [Symbol(KEY)]: 1,
    });
    expect(out.boxed).toBe(R);
    expect(out.re).toBe(`/${R}/`);
    expect(hides(out)).toBe(true);
  });

  it('breaks cycles into "[Circular]" and keeps shared references shared', () => {
    const shared = { key: KEY };
    const input: Record<string, unknown> = { a: shared, b: shared };
    input.self = input;
    const out = redactor.value(input);
    expect(out.self).toBe('[Circular]');
    expect(out.a).toBe(out.b);
    expect(JSON.parse(JSON.stringify(out))).toEqual({
      a: { key: R },
      b: { key: R },
      self: '[Circular]',
    });
  });

  it('walks each shared object once: a DAG whose paths double at each level still finishes', () => {
    let value: Record<string, unknown> = { key: KEY };
    for (let i = 0; i < 60; i++) value = { left: value, right: value };
    let out = redactor.value(value);
    expect(out.left).toBe(out.right);
    for (let i = 0; i < 60; i++) out = out.left as Record<string, unknown>;
    expect(out).toEqual({ key: R });
  });

  it('turns a throwing getter, a throwing Proxy and a revoked Proxy into "[Unreadable]"', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const input = {
      key: KEY,
      get boom(): never {
        throw new Error('getter failed');
      },
      trap: new Proxy(
        {},
        {
          ownKeys: () => {
            throw new Error('trap');
          },
        },
      ),
      revoked: proxy,
    };
    expect(redactor.value(input)).toEqual({
      key: R,
      boom: '[Unreadable]',
      trap: '[Unreadable]',
      revoked: '[Unreadable]',
    });
  });

  it('copies a Proxy (structuredClone refuses one) and hides what it shows', () => {
    const out = redactor.value({ p: new Proxy({ a: 'clean' }, {}) });
    expect(() => structuredClone(out)).not.toThrow();
    expect(redactor.value(new Proxy({ k: KEY }, {}))).toEqual({ k: R });
  });

  it('cuts nesting deeper than maxDepth (64) with "[Too deep]" instead of overflowing the stack', () => {
    let deep: unknown = KEY;
    for (let i = 0; i < 100_000; i++) deep = { next: deep };
    const out = redactor.value(deep);
    const text = JSON.stringify(out);
    expect(text).toContain('"[Too deep]"');
    expect(text.match(/next/g)).toHaveLength(64);
    expect(JSON.stringify(createRedactor({ maxDepth: 2 }).value({ a: { b: { c: 1 } } }))).toBe(
      '{"a":{"b":"[Too deep]"}}',
    );
    expect(() => createRedactor({ maxDepth: 0 })).toThrow(InvalidOptionError);
  });

  it('keeps __proto__ and constructor keys as own properties, polluting no prototype', () => {
    const input = JSON.parse(
      `{"__proto__": {"polluted": "${KEY}"}, "constructor": {"prototype": "${KEY}"}}`,
    );
    const out = redactor.value(input);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ polluted: R });
    expect(out.constructor).toEqual({ prototype: R });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('never changes its input', () => {
    const input = { list: [KEY], map: new Map([[KEY, KEY]]), holder: new Holder(KEY) };
    const before = inspect(input, { depth: 5 });
    redactor.value(input);
    expect(inspect(input, { depth: 5 })).toBe(before);
  });
});

describe('error(): every part of an error', () => {
  it('redacts message, stack, the cause chain, AggregateError errors and own properties, in place', () => {
    const config = { headers: { authorization: `Bearer ${TOKEN}`, accept: 'json' } };
    const root = new Error(`connect refused for ${KEY}`);
    const http = Object.assign(new Error('request failed', { cause: root }), {
      config,
      status: 401,
    });
    const aggregate = new AggregateError([http, new Error(TOKEN)], `all failed (${KEY})`);
    const hidden = Object.defineProperty(aggregate, 'detail', {
      value: { key: KEY },
      enumerable: false,
      writable: true,
      configurable: true,
    });

    const out = redactor.error(hidden);
    expect(out).toBe(aggregate);
    expect(aggregate.errors[0]).toBe(http);
    expect(http.cause).toBe(root);
    expect(hides(out)).toBe(true);
    expect(root.message).toBe(`connect refused for ${R}`);
    expect(root.stack).not.toContain(KEY);
    expect((http as unknown as { config: typeof config }).config.headers).toEqual({
      authorization: `Bearer ${R}`,
      accept: 'json',
    });
    // The client's own config object is data: replaced on the error, never changed.
    expect(config.headers.authorization).toContain(TOKEN);
  });

  it('copies an error it cannot change, keeping its class and loopwork identity', () => {
    const model = Object.freeze(new ModelError(`401 for ${KEY}`, { kind: 'auth', provider: 'x' }));
    const out = redactor.error(model);
    expect(out).not.toBe(model);
    expect(out).toBeInstanceOf(ModelError);
    expect(ModelError.isInstance(out)).toBe(true);
    expect(LoopworkError.isInstance(out)).toBe(true);
    expect(out.kind).toBe('auth');
    expect(out.message).toBe(`401 for ${R}`);
    expect(hides(out)).toBe(true);
    expect(structuredClone(out).message).toBe(`401 for ${R}`);
  });

  it('changes a loopwork error in place despite its locked marker property', () => {
    const model = new ModelError(`401 for ${KEY}`, { kind: 'auth', provider: 'x' });
    expect(redactor.error(model)).toBe(model);
    expect(model.message).toBe(`401 for ${R}`);
  });

  it('copies an error whose secret is in a property it cannot redefine', () => {
    const error = Object.defineProperty(new Error('locked'), 'detail', {
      value: KEY,
      enumerable: true,
    });
    const out = redactor.error(error);
    expect(out).not.toBe(error);
    expect((out as unknown as { detail: string }).detail).toBe(R);
  });

  it('handles an error that is its own cause', () => {
    const error = new Error(`loop ${KEY}`);
    error.cause = error;
    expect(redactor.error(error)).toBe(error);
    expect(hides(error)).toBe(true);
    const frozen = new Error(`loop ${KEY}`);
    frozen.cause = frozen;
    Object.freeze(frozen);
    const copy = redactor.error(frozen);
    expect(copy.cause).toBe('[Circular]');
    expect(hides(copy)).toBe(true);
  });

  it('hides a frozen cause also where the error refers to it again', () => {
    const cause = Object.freeze(new Error(`refused ${KEY}`));
    const error = Object.assign(new Error('failed', { cause }), { request: { lastError: cause } });
    expect(redactor.error(error)).toBe(error);
    expect(error.cause).not.toBe(cause);
    expect(error.request.lastError).toBe(error.cause);
    expect(hides(error)).toBe(true);
  });

  it('redacts throwables that are not errors', () => {
    expect(redactor.error(`failed: ${KEY}`)).toBe(`failed: ${R}`);
    expect(redactor.error({ reason: TOKEN })).toEqual({ reason: R });
    const bare = redactor.error(Object.assign(Object.create(null), { [KEY]: TOKEN }));
    expect(hides(bare)).toBe(true);
    expect(redactor.error(undefined)).toBeUndefined();
    expect(redactor.error(null)).toBeNull();
  });
});

describe('string(): what counts as a secret', () => {
  it('hides a literal also URL-encoded (either hex case), JSON-escaped and regex-escaped', () => {
    const forms = [
      encodeURIComponent(TOKEN),
      encodeURIComponent(TOKEN).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
      new URLSearchParams({ t: TOKEN }).toString().slice(2),
      JSON.stringify({ t: TOKEN }),
      String(new RegExp(TOKEN.replace(/[+/=]/g, '\\$&'))),
    ];
    for (const form of forms) expect(redactor.string(`x ${form} y`)).not.toContain('7f3a9c2e');
  });

  it("keeps a pattern's flags and the replacement as written", () => {
    const custom = createRedactor({
      patterns: [/acct-[a-z]{6}/i],
      replacement: '$&-hidden',
      defaults: false,
    });
    expect(custom.string('ACCT-ABCDEF and acct-abcdef')).toBe('$&-hidden and $&-hidden');
  });
});
