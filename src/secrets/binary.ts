import { Buffer } from 'node:buffer';

/**
 * Binary data, redacted as bytes: a `Buffer`, `Uint8Array`, `Int8Array`, `Uint8ClampedArray`,
 * `DataView`, `ArrayBuffer` or `SharedArrayBuffer` is read as Latin-1 text (one character per
 * byte, so every byte outside a secret comes back unchanged) and each secret's bytes are replaced.
 * A Buffer is text more often than not (`String(buffer)` decodes it as UTF-8), so a key in one
 * would reach any log that prints it.
 *
 * Typed arrays of wider elements (`Float64Array`, `Uint32Array` …) hold numbers, not text, and
 * are not scanned. Any view over part of a larger buffer — every small `Buffer`, which Node cuts
 * from a shared 8 KB pool — comes back as a copy that owns exactly its bytes: `structuredClone`
 * (the memory event log) copies a view's whole underlying buffer, and the rest of a pool slab
 * holds whatever else the process put there lately, an `Authorization` header included.
 *
 * Returns the input when it holds no secret and owns its whole buffer.
 */
export function redactBinary(
  input: object,
  scrubBytes: (bytes: Uint8Array) => Uint8Array | undefined,
): unknown {
  if (!ArrayBuffer.isView(input)) {
    const redacted = scrubBytes(new Uint8Array(input as ArrayBuffer));
    return redacted ? redacted.buffer : input;
  }
  const isText = input instanceof DataView || (input as Uint8Array).BYTES_PER_ELEMENT === 1;
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const redacted = isText ? scrubBytes(bytes) : undefined;
  if (!redacted && input.byteLength === input.buffer.byteLength) return input;
  if (!isText) return (input as Float64Array).slice();
  const own = redacted ?? new Uint8Array(bytes);
  if (Buffer.isBuffer(input)) return Buffer.from(own.buffer);
  if (input instanceof Int8Array) return new Int8Array(own.buffer);
  if (input instanceof Uint8ClampedArray) return new Uint8ClampedArray(own.buffer);
  if (input instanceof DataView) return new DataView(own.buffer);
  return own;
}

/** Replaces every match of `matchers` in `bytes` (read as Latin-1) with `replacement`'s UTF-8 bytes. */
export function scrubBytes(
  bytes: Uint8Array,
  matchers: readonly RegExp[],
  replacement: Uint8Array,
): Uint8Array | undefined {
  let current = bytes;
  for (const matcher of matchers) {
    const text = Buffer.from(current.buffer, current.byteOffset, current.byteLength).toString(
      'latin1',
    );
    matcher.lastIndex = 0;
    if (!matcher.test(text)) continue;
    matcher.lastIndex = 0;
    const parts: Uint8Array[] = [];
    let last = 0;
    for (const match of text.matchAll(matcher)) {
      parts.push(current.subarray(last, match.index), replacement);
      last = match.index + match[0].length;
    }
    parts.push(current.subarray(last));
    // A fresh buffer of exactly this size (Buffer.concat would cut it from the shared pool).
    const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.byteLength;
    }
    current = out;
  }
  return current === bytes ? undefined : current;
}
