/** What the walk puts where it cannot or must not go. */
export const PLACEHOLDERS = {
  /** A getter or a Proxy trap threw while the value was read. */
  unreadable: '[Unreadable]',
  /** A reference back to an object that contains it: the output is a tree, which JSON can write. */
  circular: '[Circular]',
  /** Nesting deeper than `maxDepth`: not looked at, so not kept. */
  tooDeep: '[Too deep]',
} as const;

/** Marks an object whose contents are being walked: a reference to it is a cycle. */
export const IN_PROGRESS = Symbol('in progress');
/** Marks an object one walk has not met. */
export const UNSEEN = Symbol('unseen');

/** Objects walked before what they became is remembered (see {@link Seen}). */
const REMEMBER_AFTER = 256;

/**
 * The objects one walk has met. Cycles are found on the path from the root, which is short.
 * What an object became is remembered when it was copied (so shared references stay shared), and
 * for every object once the walk has met a few hundred (so a DAG whose paths multiply is walked
 * once per object); an event with nothing to hide costs no Map.
 *
 * A `Seen` made with a parent is a trial: it sees what the parent saw, and what it learns reaches
 * the parent only on {@link Seen.commit}.
 */
export class Seen {
  private readonly path: object[] = [];
  private done: Map<object, unknown> | undefined;
  private count = 0;

  constructor(private readonly parent?: Seen) {}

  /** What `input` became, {@link IN_PROGRESS} when inside it, or {@link UNSEEN}. */
  get(input: object): unknown {
    if (this.done?.has(input)) return this.done.get(input);
    for (let i = this.path.length - 1; i >= 0; i--) if (this.path[i] === input) return IN_PROGRESS;
    return this.parent ? this.parent.get(input) : UNSEEN;
  }

  enter(input: object): void {
    this.path.push(input);
  }

  leave(input: object, out: unknown): void {
    this.path.pop();
    this.count += 1;
    // A copy is always remembered, so that two references to one object stay one in the output.
    if (out !== input || this.count > REMEMBER_AFTER) this.settle(input, out);
  }

  /** Says what `input` becomes, even while inside it (an error redacted in place stays itself). */
  settle(input: object, out: unknown): void {
    this.done ??= new Map();
    this.done.set(input, out);
  }

  /** Hands what this trial learned to its parent. */
  commit(): void {
    if (!this.parent) return;
    this.parent.count += this.count;
    for (const [input, out] of this.done ?? []) this.parent.settle(input, out);
  }
}

/** What {@link read} returns when reading threw. */
export const THREW = Symbol('threw');

/** A property key. */
export type Key = string | symbol;

/** A step of the walk: one object, redacted. */
export type Step = (input: object, depth: number, seen: Seen) => unknown;

/** The steps of a walk, shared by the value walk and the error redaction. */
export interface Walk {
  /** Any value, redacted; the input is never changed. */
  value(input: unknown, depth: number, seen: Seen): unknown;
  /** Runs `step` on an object once per walk: memoized, cut at `maxDepth`, cycles and throws caught. */
  visit(input: object, depth: number, seen: Seen, step: Step): unknown;
  /** A property name (or a symbol's description), redacted. */
  key<K extends Key>(key: K): K;
  /** `key` if `taken(key)` is false, else the first free `key (2)`, `key (3)` … */
  freeKey<K extends Key>(key: K, taken: (key: K) => boolean): K;
}

/** Reads a property as `JSON.stringify` would (getters run); {@link THREW} when that throws. */
export function read(input: object, key: Key): unknown {
  try {
    return (input as Record<Key, unknown>)[key];
  } catch {
    return THREW;
  }
}

/** Sets an own property, `__proto__` included (assigning that one would set the prototype). */
export function define(target: object, key: Key, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    (target as Record<Key, unknown>)[key] = value;
  }
}
