import { styleText } from 'node:util';

/** Colours the CLI uses; each maps to a `node:util` `styleText` format. */
type Style = 'dim' | 'bold' | 'red' | 'green' | 'yellow' | 'cyan';

/** Where and how the CLI writes: colour and the live status line only on a terminal. */
export interface Output {
  /** True when stdout is a terminal (a status line may be redrawn). */
  readonly tty: boolean;
  /** True when colours are on: a terminal, `NO_COLOR` unset, no `--no-color`. */
  readonly color: boolean;
  paint(style: Style, text: string): string;
  /** Writes a line to stdout (above the status line, when one is shown). */
  line(text: string): void;
  /** Shows `text` as the status line (terminals only; elsewhere it does nothing). */
  status(text: string): void;
  /** Removes the status line. */
  clearStatus(): void;
  /** Writes a line to stderr. */
  error(text: string): void;
}

/** The output of this process. `NO_COLOR` (any non-empty value) turns colours off, as no-color.org asks. */
export function createOutput(
  stdout: NodeJS.WriteStream,
  stderr: NodeJS.WriteStream,
  options: { noColor: boolean },
): Output {
  const tty = stdout.isTTY === true;
  const color = tty && !options.noColor && !process.env.NO_COLOR;
  let statusShown = false;
  const clear = () => {
    if (statusShown) stdout.write('\r\x1b[2K');
    statusShown = false;
  };
  return {
    tty,
    color,
    paint: (style, text) => (color ? styleText(style, text) : text),
    line(text) {
      clear();
      stdout.write(`${text}\n`);
    },
    status(text) {
      if (!tty) return;
      clear();
      const width = stdout.columns || 80;
      stdout.write(text.length > width - 1 ? `${text.slice(0, width - 2)}…` : text);
      statusShown = true;
    },
    clearStatus: clear,
    error(text) {
      clear();
      stderr.write(`${text}\n`);
    },
  };
}

/** A table as aligned columns (no borders), for humans; `--json` is for scripts. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const render = (row: readonly string[]) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ');
  return [render(headers), ...rows.map(render)].join('\n');
}

/** `$0.0123`: four decimals, since a turn often costs less than a cent. */
export const usd = (value: number | undefined) =>
  value === undefined ? '-' : `$${value.toFixed(4)}`;

/** `12,345` */
export const count = (value: number) => value.toLocaleString('en-US');

/** An epoch-ms time as ISO 8601 (UTC, seconds). */
export const when = (ms: number | undefined) =>
  ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Strips control characters (escape sequences included) from text that came from a run. */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '');
}

/** Text cut to `max` characters, one line. */
export function short(text: string, max = 80): string {
  const flat = printable(text).replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
