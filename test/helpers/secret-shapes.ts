// Hostile shapes for promise 6 (no secret in events, logs or error messages): a secret planted in
// values of every kind a runtime meets — nested objects, class instances, Maps, URLs, Buffers,
// error chains, property names, getters, Proxies, cycles — built from a seed, so a failure is
// reproduced from its seed and index. Reusable for any exit: events, run records, dead-letter
// reasons, worker logs.
//
//   for (const shape of secretShapes(seed, 1000)) {   // or secretShape(seed, index) for one
//     const out = redactor.value(shape.value);               // or throw it, log it, store it …
//     expect(leakIn(out), describeShape(shape)).toBeUndefined();
//   }
//
// `findSecret(text)` checks one rendering; `leakIn(value)` renders a value every way a log or a
// store would (JSON, structuredClone, util.inspect, String(), and every string, key and byte it
// holds) and checks each.
import { inspect } from 'node:util';

/** A literal secret: hidden only when configured (`PLANTED_REDACT_OPTIONS`); `+`, `/`, `=` change when URL-encoded. */
export const PLANTED_LITERAL = 'tok+live/7f3a9c2e=QzX81';
/** A key hidden by the default patterns alone (the Anthropic key format). */
export const PLANTED_KEY = 'sk-ant-api03-Fuzz0Key1Not2Real3-9f8e7d6c5b4a';
/** Redactor options that hide both planted secrets. */
export const PLANTED_REDACT_OPTIONS = { secrets: [PLANTED_LITERAL] } as const;

/**
 * Pieces of the secrets that no encoding changes (letters and digits only) and that appear
 * nowhere else: a rendering holding one holds the secret, whole, encoded or cut short.
 */
const TELLTALES = [
  { secret: PLANTED_LITERAL, piece: '7f3a9c2e' },
  { secret: PLANTED_KEY, piece: 'Fuzz0Key1Not2Real3' },
];

/** The planted secret `text` shows (as is, URL- or JSON-encoded, or a long piece), or undefined. */
export function findSecret(text: string): string | undefined {
  return TELLTALES.find(({ piece }) => text.includes(piece))?.secret;
}

/** A small seeded PRNG (mulberry32) and helpers. */
export interface Random {
  /** In [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

/** A seeded {@link Random}. */
export function random(seed: number): Random {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    pick: (items) => items[int(items.length)] as (typeof items)[number],
    chance: (p) => next() < p,
  };
}

/** One hostile value carrying a planted secret. */
export interface SecretShape {
  seed: number;
  index: number;
  /** The planted secret (one of {@link PLANTED_LITERAL}, {@link PLANTED_KEY}). */
  secret: string;
  value: unknown;
  /** How the value was built, outermost first. */
  trail: string[];
}

/** `seed/index: outer > … > carrier`, for a failure message. */
export function describeShape(shape: SecretShape): string {
  return `shape ${shape.seed}/${shape.index}: ${shape.trail.join(' > ')}`;
}

/** Shape number `index` of `seed`: built afresh on each call, from those two numbers alone. */
export function secretShape(seed: number, index: number): SecretShape {
  const rng = random((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const secret = rng.chance(0.5) ? PLANTED_LITERAL : PLANTED_KEY;
  const trail: string[] = [];
  const value = build(rng, secret, trail, rng.int(5));
  return { seed, index, secret, value, trail };
}

/** Shapes 0 … `count - 1` of `seed`. */
export function* secretShapes(seed: number, count: number): Generator<SecretShape> {
  for (let index = 0; index < count; index++) yield secretShape(seed, index);
}

const DECOYS = ['ok', 'Bearer', 'sk-', 'tok', 'authorization', 'x-api-key', '', 'AKIA'];

function text(rng: Random, secret: string): string {
  return rng.pick([secret, `key=${secret}`, `${rng.pick(DECOYS)} ${secret} ${rng.pick(DECOYS)}`]);
}

/** A value holding the secret at `levels` containers deep. */
function build(rng: Random, secret: string, trail: string[], levels: number): unknown {
  if (levels === 0) return carrier(rng, secret, trail);
  const kind = rng.pick(CONTAINERS);
  trail.push(kind.name);
  const container = kind.wrap(() => build(rng, secret, trail, levels - 1), rng);
  return hazards(rng, container, trail);
}

class Holder {
  constructor(
    readonly data: unknown,
    readonly id = 7,
  ) {}
}

class Wrapped {
  #inner: unknown;
  constructor(inner: unknown) {
    this.#inner = inner;
  }
  toJSON() {
    return { wrapped: this.#inner };
  }
}

class HttpError extends Error {
  code = 'ECONNREFUSED';
  constructor(
    message: string,
    readonly config: unknown,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

type Container = { name: string; wrap: (inner: () => unknown, rng: Random) => unknown };

const CONTAINERS: Container[] = [
  {
    name: 'object',
    wrap: (inner, rng) => ({ before: 1, [rng.pick(['a', 'data', 'x-1'])]: inner(), after: 'z' }),
  },
  {
    name: 'null-prototype object',
    wrap: (inner) => Object.assign(Object.create(null), { k: inner() }),
  },
  { name: 'array', wrap: (inner, rng) => [rng.pick(DECOYS), inner(), 3] },
  {
    name: 'sparse array',
    wrap: (inner) => {
      const list: unknown[] = [];
      list[5] = inner();
      return list;
    },
  },
  {
    name: 'Map value',
    wrap: (inner) =>
      new Map<unknown, unknown>([
        ['a', 1],
        ['b', inner()],
      ]),
  },
  { name: 'Map key (object)', wrap: (inner) => new Map([[{ key: inner() }, 'v']]) },
  { name: 'Set', wrap: (inner) => new Set(['a', inner()]) },
  { name: 'class instance', wrap: (inner) => new Holder(inner()) },
  { name: 'toJSON of a private field', wrap: (inner) => new Wrapped(inner()) },
  { name: 'frozen object', wrap: (inner) => Object.freeze({ frozen: inner() }) },
  {
    name: 'getter',
    wrap: (inner) => {
      const value = inner();
      return Object.defineProperty({ plain: 1 }, 'lazy', { get: () => value, enumerable: true });
    },
  },
  {
    name: '__proto__ key',
    wrap: (inner) =>
      Object.defineProperty({}, '__proto__', {
        value: inner(),
        enumerable: true,
        writable: true,
        configurable: true,
      }),
  },
  { name: 'constructor key', wrap: (inner) => ({ constructor: inner(), prototype: 'p' }) },
  { name: 'symbol-keyed property', wrap: (inner) => ({ [Symbol('kOutHeaders')]: inner() }) },
  { name: 'Proxy', wrap: (inner) => new Proxy({ proxied: inner() }, {}) },
  { name: 'error cause', wrap: (inner) => new Error('request failed', { cause: inner() }) },
  {
    name: 'error property (config.headers)',
    wrap: (inner) => new HttpError('connect ECONNREFUSED', { headers: { authorization: inner() } }),
  },
  {
    name: 'AggregateError errors',
    wrap: (inner) => {
      const value = inner();
      return new AggregateError(
        [new Error('first'), value instanceof Error ? value : new Error('x', { cause: value })],
        'all failed',
      );
    },
  },
  {
    name: 'frozen error with cause',
    wrap: (inner) => Object.freeze(new Error('frozen', { cause: inner() })),
  },
  {
    name: 'error non-writable property',
    wrap: (inner) =>
      Object.defineProperty(new Error('locked'), 'detail', { value: inner(), enumerable: true }),
  },
  {
    name: 'deep chain (64 levels)',
    wrap: (inner) => {
      let value: unknown = inner();
      for (let i = 0; i < 64; i++) value = { next: value };
      return value;
    },
  },
];

const CARRIERS: Array<{ name: string; make: (secret: string, rng: Random) => unknown }> = [
  { name: 'string', make: (secret, rng) => text(rng, secret) },
  { name: 'property name', make: (secret, rng) => ({ [text(rng, secret)]: 'v', other: 1 }) },
  {
    name: 'property names that hide alike',
    make: () => ({ [PLANTED_LITERAL]: 1, [PLANTED_KEY]: 2, '[REDACTED]': 3 }),
  },
  {
    name: 'URL password',
    make: (secret) => new URL(`https://user:${encodeURIComponent(secret)}@api.example.com/v1`),
  },
  {
    name: 'URL user name',
    make: (secret) => new URL(`https://${encodeURIComponent(secret)}@api.example.com/`),
  },
  {
    name: 'URL query value',
    make: (secret) => {
      const url = new URL('https://api.example.com/search?q=1');
      url.searchParams.set('api_key', secret);
      return url;
    },
  },
  {
    name: 'URL query name',
    make: (secret) => {
      const url = new URL('https://api.example.com/');
      url.searchParams.set(secret, '1');
      return url;
    },
  },
  {
    name: 'URL path',
    make: (secret) => new URL(`https://api.example.com/keys/${encodeURIComponent(secret)}/rotate`),
  },
  { name: 'URL fragment', make: (secret) => new URL(`https://app.example.com/#token=${secret}`) },
  { name: 'URL as typed', make: (secret) => new URL(`https://api.example.com/?key=${secret}`) },
  { name: 'Buffer', make: (secret, rng) => Buffer.from(text(rng, secret)) },
  {
    name: 'Buffer (part of a larger one)',
    make: (secret) => Buffer.from(`head ${secret} tail`).subarray(5, 5 + secret.length),
  },
  { name: 'Uint8Array', make: (secret, rng) => new TextEncoder().encode(text(rng, secret)) },
  { name: 'ArrayBuffer', make: (secret) => new TextEncoder().encode(secret).buffer },
  { name: 'DataView', make: (secret) => new DataView(new TextEncoder().encode(secret).buffer) },
  { name: 'String object', make: (secret) => new String(secret) },
  { name: 'RegExp', make: (secret) => new RegExp(secret.replace(/[+/=]/g, '\\$&')) },
  { name: 'symbol key description', make: (secret) => ({ [Symbol(secret)]: 'v' }) },
  { name: 'Map key', make: (secret) => new Map([[secret, 'v']]) },
  { name: 'Set member', make: (secret) => new Set([secret]) },
  { name: 'error message', make: (secret, rng) => new Error(text(rng, secret)) },
  {
    name: 'TypeError own code',
    make: (secret) => Object.assign(new TypeError('bad'), { code: secret }),
  },
  {
    name: 'error property name',
    make: (secret) => Object.assign(new Error('named'), { [secret]: true }),
  },
  { name: 'frozen error', make: (secret) => Object.freeze(new RangeError(`frozen ${secret}`)) },
  {
    name: 'error cycle',
    make: (secret) => {
      const error = new Error(secret, { cause: undefined as unknown });
      error.cause = error;
      return error;
    },
  },
  { name: 'class instance field', make: (secret) => new Holder(secret) },
  { name: 'toJSON of a private field', make: (secret) => new Wrapped(secret) },
  {
    name: 'getter',
    make: (secret) => Object.defineProperty({}, 'token', { get: () => secret, enumerable: true }),
  },
  {
    name: '__proto__ key',
    make: (secret) => JSON.parse(`{"__proto__": {"token": ${JSON.stringify(secret)}}}`),
  },
  {
    name: 'null-prototype object',
    make: (secret) => Object.assign(Object.create(null), { secret }),
  },
  { name: 'Proxy', make: (secret) => new Proxy({ secret }, {}) },
  {
    name: 'beyond the depth limit',
    make: (secret) => {
      let value: unknown = secret;
      for (let i = 0; i < 200; i++) value = [value];
      return value;
    },
  },
];

function carrier(rng: Random, secret: string, trail: string[]): unknown {
  const kind = rng.pick(CARRIERS);
  trail.push(kind.name);
  return kind.make(secret, rng);
}

/** Adds, now and then, something hostile beside the secret: a cycle, a shared reference, a getter or Proxy that throws, odd values. */
function hazards(rng: Random, container: unknown, trail: string[]): unknown {
  if (!rng.chance(0.4) || typeof container !== 'object' || container === null) return container;
  if (Object.isFrozen(container) || container instanceof Map || container instanceof Set)
    return container;
  const hazard = rng.int(6);
  const target = container as Record<string, unknown>;
  if (hazard === 0) {
    trail.push('+cycle');
    target.self = container;
  } else if (hazard === 1) {
    trail.push('+shared');
    const shared = { s: 'shared' };
    target.one = shared;
    target.two = shared;
  } else if (hazard === 2) {
    trail.push('+throwing getter');
    Object.defineProperty(target, 'boom', {
      enumerable: true,
      get: () => {
        throw new Error('getter failed');
      },
    });
  } else if (hazard === 3) {
    trail.push('+throwing Proxy');
    target.trap = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('trap');
        },
        getPrototypeOf: () => {
          throw new Error('trap');
        },
      },
    );
  } else if (hazard === 4) {
    trail.push('+revoked Proxy');
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    target.revoked = proxy;
  } else {
    trail.push('+odd values');
    Object.assign(target, {
      n: Number.NaN,
      u: undefined,
      z: null,
      d: new Date(0),
      big: 10n ** 20n,
      f: new Float64Array([1.5]),
    });
  }
  return container;
}

/**
 * Every string a consumer could get out of a value: each string, property name (non-enumerable
 * and symbol ones too), Map entry, Set member, getter's value, byte (the whole buffer under a
 * view, read as Latin-1 and as UTF-16), URL part and error field, at any depth.
 */
export function reveal(value: unknown): string {
  const out: string[] = [];
  const seen = new Set<object>();
  const visit = (item: unknown): void => {
    if (typeof item === 'string') out.push(item);
    else if (typeof item === 'symbol') out.push(item.description ?? '');
    else if (typeof item === 'function') out.push(String(item.name));
    else if (typeof item !== 'object' || item === null) out.push(String(item));
    else if (!seen.has(item)) {
      seen.add(item);
      try {
        out.push(...contents(item));
        // What JSON carries instead of the object (it may come from a private field).
        const toJSON = (item as { toJSON?: unknown }).toJSON;
        if (typeof toJSON === 'function') visit(toJSON.call(item, ''));
        if (item instanceof Map) for (const entry of item) entry.forEach(visit);
        if (item instanceof Set) for (const v of item) visit(v);
        for (const key of Reflect.ownKeys(item)) {
          visit(key);
          const descriptor = Reflect.getOwnPropertyDescriptor(item, key);
          try {
            visit(
              descriptor && 'value' in descriptor ? descriptor.value : descriptor?.get?.call(item),
            );
          } catch {}
        }
      } catch {}
    }
  };
  visit(value);
  return out.join('\n');
}

/** What an object holds beyond its properties: bytes (its whole buffer), a URL's parts, a boxed string. */
function contents(item: object): string[] {
  const bytes = (buffer: ArrayBufferLike) => {
    const all = Buffer.from(buffer as ArrayBuffer);
    return [all.toString('latin1'), all.toString('utf16le'), all.subarray(1).toString('utf16le')];
  };
  if (ArrayBuffer.isView(item)) return bytes(item.buffer);
  if (item instanceof ArrayBuffer) return bytes(item);
  if (item instanceof URL)
    return [item.href, decodeURIComponent(item.href), ...[...item.searchParams].flat()];
  if (item instanceof String || item instanceof RegExp || item instanceof Date)
    return [String(item)];
  return [];
}

/** Each way a log or a store renders a value: its name and the text (or what rendering threw). */
export function renderings(value: unknown): Array<[string, string]> {
  const attempt = (render: () => string): string => {
    try {
      return render();
    } catch (error) {
      return `threw: ${error instanceof Error ? error.message : String(error)}`;
    }
  };
  return [
    [
      'JSON.stringify',
      attempt(() => JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)) ?? ''),
    ],
    [
      'util.inspect',
      attempt(() =>
        inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true, getters: true }),
      ),
    ],
    ['String()', attempt(() => String(value))],
    ['template literal', attempt(() => `${value as string}`)],
    ['structuredClone', attempt(() => reveal(structuredClone(value)))],
    ['every string, key and byte', reveal(value)],
  ];
}

/** The first rendering of `value` that shows a planted secret, as `rendering: secret`, or undefined. */
export function leakIn(value: unknown): string | undefined {
  for (const [name, text] of renderings(value)) {
    const secret = findSecret(text);
    if (secret) return `${name} shows ${secret}`;
  }
  return undefined;
}
