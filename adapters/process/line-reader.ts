import type { Readable } from 'node:stream';

/** One line of a process's stdout, or a line too long to keep. */
export type Line =
  | { kind: 'line'; number: number; text: string }
  | { kind: 'oversized'; number: number; bytes: number };

const NEWLINE = 0x0a;

/**
 * Splits a stream into lines (LF or CRLF), decoding each whole line as UTF-8 (so a character
 * split across chunks stays whole) and never holding more than `maxLineBytes` of one line: the
 * rest of a longer line is dropped as it arrives and the line reported as `oversized`.
 */
export function readLines(
  stream: Readable,
  maxLineBytes: number,
  onLine: (line: Line) => void,
): Promise<void> {
  let parts: Buffer[] = [];
  let held = 0;
  let dropped = 0; // bytes of the current line thrown away (> 0: the line is oversized)
  let number = 0;

  const finish = () => {
    number++;
    if (dropped > 0) {
      onLine({ kind: 'oversized', number, bytes: dropped + held });
    } else {
      let text = Buffer.concat(parts).toString('utf8');
      if (text.endsWith('\r')) text = text.slice(0, -1);
      if (text.trim() !== '') onLine({ kind: 'line', number, text });
    }
    parts = [];
    held = 0;
    dropped = 0;
  };

  const take = (chunk: Buffer) => {
    if (dropped > 0) {
      dropped += chunk.length;
      return;
    }
    if (held + chunk.length > maxLineBytes) {
      dropped = held + chunk.length;
      parts = [];
      held = 0;
      return;
    }
    parts.push(chunk);
    held += chunk.length;
  };

  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer) => {
      let start = 0;
      for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, start)) {
        take(chunk.subarray(start, at));
        finish();
        start = at + 1;
      }
      if (start < chunk.length) take(chunk.subarray(start));
    });
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      if (held > 0 || dropped > 0) finish();
      resolve();
    };
    stream.once('end', end);
    stream.once('close', end);
    stream.once('error', end);
  });
}

/** Keeps the last `maxBytes` of a stream (stderr), as text. */
export class Tail {
  private parts: Buffer[] = [];
  private bytes = 0;
  private cut = false;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    this.parts.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes > this.maxBytes && this.parts.length > 0) {
      const first = this.parts[0]!;
      const over = this.bytes - this.maxBytes;
      this.cut = true;
      if (first.length <= over) {
        this.parts.shift();
        this.bytes -= first.length;
      } else {
        this.parts[0] = first.subarray(over);
        this.bytes -= over;
      }
    }
  }

  /** The text kept; `…` first when the start was cut. */
  text(): string {
    const text = Buffer.concat(this.parts).toString('utf8');
    return this.cut ? `…${text}` : text;
  }
}
