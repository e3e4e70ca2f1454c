// A seeded PRNG and a generator of hostile JSON-ish values, shared by the fuzz tests (not a test
// file). Seeded, so a failure replays with the same LOOPWORK_FUZZ_SEED.

/** mulberry32: a small, fast, seeded PRNG returning numbers in [0, 1). */
export function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A random value of a random JSON-ish shape (depth-bounded), `secret` and odd keys included. */
export function shape(random: () => number, secret: string, depth = 0): unknown {
  const pick = Math.floor(random() * (depth > 2 ? 8 : 11));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return [Number.NaN, Number.POSITIVE_INFINITY, -0, 2 ** 60, -1, 0.1][Math.floor(random() * 6)];
    case 3:
      return '';
    case 4:
      return `text ${secret} ${Math.floor(random() * 1000)}`;
    case 5:
      return 'x'.repeat(Math.floor(random() * 5_000));
    case 6:
      return String.fromCharCode(
        ...Array.from({ length: 20 }, () => Math.floor(random() * 0xffff)),
      );
    case 7:
      return undefined;
    case 8:
      return Array.from({ length: Math.floor(random() * 4) }, () =>
        shape(random, secret, depth + 1),
      );
    default: {
      const keys = ['__proto__', 'constructor', 'prototype', 'n', 'text', 'toString', secret];
      const out: Record<string, unknown> = {};
      for (let i = Math.floor(random() * 4); i > 0; i--) {
        // defineProperty: an own `__proto__` key, as JSON.parse makes it, not a prototype change.
        Object.defineProperty(out, keys[Math.floor(random() * keys.length)] as string, {
          value: shape(random, secret, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
  }
}
