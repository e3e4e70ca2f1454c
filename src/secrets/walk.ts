import { types } from 'node:util';
import { redactBinary } from './binary';
import { errorRedactor, isError } from './redact-error';
import { redactUrl } from './url';
import {
  define,
  IN_PROGRESS,
  type Key,
  PLACEHOLDERS,
  read,
  Seen,
  type Step,
  THREW,
  UNSEEN,
  type Walk,
} from './walk-shared';

/** What the walk needs from its redactor. */
export interface WalkOptions {
  /** The text with every secret replaced by `by`; the same string when it holds none. */
  replaceWith(text: string, by: string): string;
  /** The text with every secret replaced by the replacement. */
  string(text: string): string;
  /** The bytes with every secret replaced, or undefined when they hold none. */
  bytes(bytes: Uint8Array): Uint8Array | undefined;
  replacement: string;
  maxDepth: number;
}

/**
 * The walk behind `Redactor.value` and `Redactor.error`. Values are copied only where something
 * changes, so a value with nothing to hide comes back as the same object.
 */
export function createWalker(options: WalkOptions): {
  value(input: unknown): unknown;
  error(input: unknown): unknown;
} {
  const { string, maxDepth } = options;
  // Property names repeat from one event to the next; remembering the clean ones skips most scans.
  const cleanKeys = new Set<string>();

  const key = <K extends Key>(name: K): K => {
    if (typeof name === 'symbol') {
      const description = name.description;
      if (description === undefined) return name;
      const next = string(description);
      return (next === description ? name : Symbol(next)) as K;
    }
    if (cleanKeys.has(name)) return name;
    const next = string(name);
    if (next === name && name.length <= 64 && cleanKeys.size < 4096) cleanKeys.add(name);
    return next as K;
  };

  const freeKey = <K extends Key>(name: K, taken: (name: K) => boolean): K => {
    if (typeof name === 'symbol' || !taken(name)) return name;
    let n = 2;
    while (taken(`${String(name)} (${n})` as K)) n++;
    return `${String(name)} (${n})` as K;
  };

  const visit: Walk['visit'] = (input, depth, seen, step) => {
    const known = seen.get(input);
    if (known === IN_PROGRESS) return PLACEHOLDERS.circular;
    if (known !== UNSEEN) return known;
    if (depth >= maxDepth) return PLACEHOLDERS.tooDeep;
    seen.enter(input);
    let out: unknown;
    try {
      out = step(input, depth + 1, seen);
    } catch {
      // A Proxy trap, a revoked Proxy, an exotic object: hide it rather than fail the caller.
      out = PLACEHOLDERS.unreadable;
    }
    seen.leave(input, out);
    return out;
  };

  const value: Walk['value'] = (input, depth, seen) => {
    switch (typeof input) {
      case 'string':
        return string(input);
      case 'object':
        return input === null ? input : visit(input, depth, seen, walkObject);
      case 'symbol':
        return key(input);
      case 'function':
        return walkFunction(input);
      default:
        return input;
    }
  };

  const walkObject: Step = (input, depth, seen) => {
    // A Proxy is read like the object it shows and always copied: structuredClone refuses a
    // Proxy, and its next answer may differ from the one checked here.
    if (types.isProxy(input))
      return walkEntries(input, depth, seen, Array.isArray(input) ? 'array' : 'plain', true);
    if (Array.isArray(input)) return walkCarried(input, depth, seen, 'array');
    const proto = Object.getPrototypeOf(input);
    if (proto === Object.prototype) return walkCarried(input, depth, seen, 'plain');
    if (proto === null) return walkCarried(input, depth, seen, 'null');
    if (isError(input)) return errors.inValue(input, depth, seen);
    if (input instanceof Map) return walkMap(input, depth, seen);
    if (input instanceof Set) return walkSet(input, depth, seen);
    if (ArrayBuffer.isView(input) || input instanceof ArrayBuffer || isShared(input))
      return redactBinary(input, options.bytes);
    if (input instanceof URL) return redactUrl(input, options.replaceWith, options.replacement);
    if (input instanceof String) {
      const text = String(input);
      const redacted = string(text);
      return redacted === text ? input : redacted;
    }
    if (input instanceof RegExp) {
      // A secret in a pattern is escaped (`\+`, `\/`): look at it unescaped too.
      const text = String(input).replace(/\\([^A-Za-z0-9])/g, '$1');
      const redacted = string(text);
      return redacted === text ? input : redacted;
    }
    // An instance of a class: JSON (and structuredClone) carry its own enumerable properties.
    return walkCarried(input, depth, seen, 'plain');
  };

  const walk: Walk = { value, visit, key, freeKey };
  const errors = errorRedactor(walk);

  function walkFunction(input: unknown): unknown {
    const name = read(input as object, 'name');
    if (typeof name !== 'string') return name === THREW ? PLACEHOLDERS.unreadable : input;
    return string(name) === name ? input : `[Function: ${string(name)}]`;
  }

  /** Own enumerable properties (string and symbol keys), names and values redacted; `copy` always copies. */
  function walkEntries(input: object, depth: number, seen: Seen, kind: Kind, copy = false): object {
    const keys: Key[] = Object.keys(input);
    for (const symbol of Object.getOwnPropertySymbols(input))
      if (Object.prototype.propertyIsEnumerable.call(input, symbol)) keys.push(symbol);
    let out = copy ? copyUpTo(input, keys, 0, depth, seen, kind) : undefined;
    for (let i = 0; i < keys.length; i++) {
      const name = keys[i] as Key;
      const item = read(input, name);
      const next = item === THREW ? PLACEHOLDERS.unreadable : value(item, depth, seen);
      const nextName = key(name);
      if (out === undefined) {
        if (next === item && nextName === name) continue;
        out = copyUpTo(input, keys, i, depth, seen, kind);
      }
      if (nextName === name) define(out, name, next);
      else {
        const target = out;
        const taken = (candidate: Key) =>
          Object.hasOwn(input, candidate) || Object.hasOwn(target, candidate);
        define(out, freeKey(nextName, taken), next);
      }
    }
    return out ?? input;
  }

  /** A new array or object with the first `count` entries of `input`, redacted (they are clean). */
  function copyUpTo(
    input: object,
    keys: readonly Key[],
    count: number,
    depth: number,
    seen: Seen,
    kind: Kind,
  ): object {
    const out =
      kind === 'array'
        ? new Array((input as unknown[]).length)
        : kind === 'null'
          ? Object.create(null)
          : {};
    // Read again rather than keep every value: the clean path must not allocate.
    for (let j = 0; j < count; j++) {
      const item = read(input, keys[j] as Key);
      define(
        out,
        keys[j] as Key,
        item === THREW ? PLACEHOLDERS.unreadable : value(item, depth, seen),
      );
    }
    return out;
  }

  /**
   * What JSON would carry of an object: its `toJSON()` when it has one (Date, URL, Decimal …, or
   * any object with that method), else its own enumerable properties. Comes back as it is when
   * all of that is clean; an instance of a class with something to hide becomes a plain object.
   */
  function walkCarried(input: object, depth: number, seen: Seen, kind: Kind): unknown {
    const own = walkEntries(input, depth, seen, kind);
    const toJSON = read(input, 'toJSON');
    if (toJSON === THREW) return PLACEHOLDERS.unreadable;
    if (typeof toJSON !== 'function') return own;
    let json: unknown;
    try {
      json = toJSON.call(input, '');
    } catch {
      return PLACEHOLDERS.unreadable;
    }
    if (json === input) return own;
    const redacted = value(json, depth, seen);
    return own === input && redacted === json ? input : redacted;
  }

  function walkMap(input: Map<unknown, unknown>, depth: number, seen: Seen): unknown {
    const entries: Array<[unknown, unknown, boolean]> = [];
    let changed = false;
    Map.prototype.forEach.call(input, (item: unknown, name: unknown) => {
      const nextName = value(name, depth, seen);
      const next = value(item, depth, seen);
      changed ||= nextName !== name || next !== item;
      entries.push([nextName, next, nextName !== name]);
    });
    if (!changed) return input;
    const out = new Map<unknown, unknown>();
    const taken = (name: unknown) => input.has(name) || out.has(name);
    for (const [name, item, renamed] of entries)
      out.set(renamed && typeof name === 'string' ? freeKey(name, taken) : name, item);
    return out;
  }

  function walkSet(input: Set<unknown>, depth: number, seen: Seen): unknown {
    const members: Array<[unknown, boolean]> = [];
    let changed = false;
    Set.prototype.forEach.call(input, (item: unknown) => {
      const next = value(item, depth, seen);
      changed ||= next !== item;
      members.push([next, next !== item]);
    });
    if (!changed) return input;
    const out = new Set<unknown>();
    const taken = (item: unknown) => input.has(item) || out.has(item);
    for (const [item, renamed] of members)
      out.add(renamed && typeof item === 'string' ? freeKey(item, taken) : item);
    return out;
  }

  return {
    value: (input) => value(input, 0, new Seen()),
    error: (input) => errors.top(input),
  };
}

type Kind = 'array' | 'plain' | 'null';

const isShared = (input: object) =>
  typeof SharedArrayBuffer === 'function' && input instanceof SharedArrayBuffer;
