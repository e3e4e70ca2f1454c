import { type Key, PLACEHOLDERS, Seen, type Step, THREW, type Walk } from './walk-shared';

/** True for errors, those of other realms (a `vm` context) included; false when asking throws. */
export function isError(input: object): boolean {
  try {
    return input instanceof Error || Object.prototype.toString.call(input) === '[object Error]';
  } catch {
    return false;
  }
}

/** One own property of an error: its key, its redacted name and value, and whether either changed. */
interface Field {
  key: Key;
  name: Key;
  value: unknown;
  enumerable: boolean;
  changed: boolean;
}

/**
 * Error redaction. Every own property of an error is redacted — `message`, `stack`, `cause`,
 * `errors`, and the rest (`config.headers` of an HTTP client's error), enumerable or not, as
 * `util.inspect` shows them all — names and values, values deeply.
 *
 * `top` (behind `Redactor.error`) changes the error in place, so the caller keeps its identity and
 * class; the errors of its `cause` chain and of an `AggregateError`'s `errors` likewise. An error
 * that cannot take a change it needs (frozen, or the property to change is neither writable nor
 * configurable) is copied instead: a real `Error` with the same prototype (`instanceof` and
 * `LoopworkError.isInstance` still hold) and every property.
 * Errors met elsewhere — inside a value, or in a property other than `cause` and `errors` — are
 * data: copied when they hold a secret, never changed.
 */
export function errorRedactor(walk: Walk): {
  /** An error inside a value (a copy when anything changes). */
  inValue: Step;
  /** Any throwable: errors redacted in place where they can be, anything else copied. */
  top(input: unknown): unknown;
} {
  const inPlace: Step = (input, depth, seen) => redact(input, depth, seen, true);
  const inValue: Step = (input, depth, seen) => redact(input, depth, seen, false);

  function redact(input: object, depth: number, seen: Seen, tryInPlace: boolean): unknown {
    if (!tryInPlace) {
      const fields = readFields(input, depth, seen, false);
      return fields.some((field) => field.changed) ? copyOf(input, fields) : input;
    }
    // A trial: a reference back to this error stands for the error itself, which will hold no
    // secret once changed. What the trial learned is kept only if the error takes the changes.
    const trial = new Seen(seen);
    trial.settle(input, input);
    const fields = readFields(input, depth, trial, true);
    if (
      !fields.some((field) => field.changed) ||
      (canApply(input, fields) && applyInPlace(input, fields))
    ) {
      trial.commit();
      return input;
    }
    // Frozen, or a property refused the change (a Proxy): copy it, walking again without the
    // trial, whose results may point at the unredacted original.
    return redact(input, depth, seen, false);
  }

  function readFields(input: object, depth: number, seen: Seen, tree: boolean): Field[] {
    const fields: Field[] = [];
    for (const key of Reflect.ownKeys(input)) {
      const descriptor = Object.getOwnPropertyDescriptor(input, key);
      if (!descriptor) continue;
      let item: unknown;
      if ('value' in descriptor) item = descriptor.value;
      else {
        try {
          item = descriptor.get?.call(input);
        } catch {
          item = THREW;
        }
      }
      const value =
        item === THREW
          ? PLACEHOLDERS.unreadable
          : tree && (key === 'cause' || key === 'errors')
            ? inTree(item, depth, seen)
            : walk.value(item, depth, seen);
      const name = walk.key(key);
      const enumerable = descriptor.enumerable ?? false;
      fields.push({ key, name, value, enumerable, changed: value !== item || name !== key });
    }
    return fields;
  }

  /** A `cause` or the `errors` of an in-place error: errors in them are redacted in place too. */
  function inTree(item: unknown, depth: number, seen: Seen): unknown {
    if (typeof item !== 'object' || item === null) return walk.value(item, depth, seen);
    if (isError(item)) return walk.visit(item, depth, seen, inPlace);
    if (!Array.isArray(item)) return walk.value(item, depth, seen);
    return walk.visit(item, depth, seen, (list, next, inner) => {
      const items = list as unknown[];
      const redacted = Array.from(items, (member) => inTree(member, next, inner));
      return redacted.every((member, i) => member === items[i]) ? list : redacted;
    });
  }

  function applyInPlace(input: object, fields: readonly Field[]): boolean {
    const keys = new Set(fields.map((field) => field.key));
    const taken = (key: Key) => keys.has(key) || Object.hasOwn(input, key);
    try {
      for (const field of fields) {
        if (!field.changed) continue;
        if (field.name !== field.key) {
          if (!Reflect.deleteProperty(input, field.key)) return false;
          Object.defineProperty(input, walk.freeKey(field.name, taken), property(field));
        } else if (Object.getOwnPropertyDescriptor(input, field.key)?.configurable === false) {
          Object.defineProperty(input, field.key, { value: field.value });
        } else {
          Object.defineProperty(input, field.key, property(field));
        }
      }
      return true;
    } catch {
      return false;
    }
  }

  function copyOf(input: object, fields: readonly Field[]): Error {
    // A real Error (not Object.create): structuredClone and util.types.isNativeError know it.
    const copy = new Error();
    Reflect.deleteProperty(copy, 'stack');
    Object.setPrototypeOf(copy, Object.getPrototypeOf(input));
    const keys = new Set(fields.map((field) => field.key));
    const taken = (key: Key) => keys.has(key) || Object.hasOwn(copy, key);
    for (const field of fields) {
      const key = field.name === field.key ? field.key : walk.freeKey(field.name, taken);
      Object.defineProperty(copy, key, property(field));
    }
    return copy;
  }

  return {
    inValue,
    top(input) {
      const seen = new Seen();
      if (typeof input === 'object' && input !== null && isError(input))
        return walk.visit(input, 0, seen, inPlace);
      return walk.value(input, 0, seen);
    },
  };
}

/** Whether every change can be made on the error itself (its other properties may be locked). */
function canApply(input: object, fields: readonly Field[]): boolean {
  for (const field of fields) {
    if (!field.changed) continue;
    const descriptor = Object.getOwnPropertyDescriptor(input, field.key);
    if (!descriptor) return false;
    if (field.name !== field.key) {
      if (!descriptor.configurable || !Object.isExtensible(input)) return false;
    } else if (!descriptor.configurable && !('value' in descriptor && descriptor.writable)) {
      return false;
    }
  }
  return true;
}

const property = (field: Field): PropertyDescriptor => ({
  value: field.value,
  enumerable: field.enumerable,
  writable: true,
  configurable: true,
});
