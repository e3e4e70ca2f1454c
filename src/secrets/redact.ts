import { Buffer } from 'node:buffer';
import { InvalidOptionError } from '../errors';
import { scrubBytes } from './binary';
import { compileMatchers } from './matcher';
import { createWalker } from './walk';

/** What to hide. */
export interface RedactOptions {
  /** Exact secret values (API keys, tokens) to hide wherever they appear, also URL- or JSON-encoded. */
  secrets?: readonly string[];
  /** Patterns to hide, in addition to (or, with `defaults: false`, instead of) the built-in ones. */
  patterns?: readonly RegExp[];
  /** Hide the built-in key formats and the values of well-known key variables in `process.env`. @defaultValue true */
  defaults?: boolean;
  /** What a hidden secret becomes. @defaultValue '[REDACTED]' */
  replacement?: string;
  /** How deep `value()` and `error()` look; anything deeper becomes `'[Too deep]'`. @defaultValue 64 */
  maxDepth?: number;
}

/** Hides secrets in strings, values of any shape, and errors. */
export interface Redactor {
  /** The string with every secret replaced. */
  string(text: string): string;
  /**
   * The value with every secret replaced, in strings, property names, Map keys, URLs, binary
   * data and errors at any depth; copied where something changes (the input is never changed),
   * so a value with nothing to hide comes back as the same object. The result is a tree:
   * `JSON.stringify` and `structuredClone` can write it (docs/security.md has the rules).
   */
  value<T>(value: T): T;
  /**
   * The error with secrets replaced in its message, stack, `cause` chain, `AggregateError`
   * errors and every other property. Changed in place (same object, same class) unless it is
   * frozen or otherwise cannot be; then a copy with the same prototype is returned, so always use
   * the return value. A thrown non-Error (a string, an object) comes back redacted as by `value()`.
   */
  error<E>(error: E): E;
}

/**
 * Key formats hidden by default: Anthropic, OpenAI and other `sk-` keys, AWS access key ids,
 * GitHub and Slack tokens, and the credential part of `Bearer` / `Basic` authorization values.
 */
export const DEFAULT_SECRET_PATTERNS: readonly RegExp[] = [
  /sk-ant-[A-Za-z0-9_-]{8,}/,
  /\bsk-[A-Za-z0-9_-]{16,}/,
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/,
  /\bgh[pousr]_[A-Za-z0-9]{30,}/,
  /\bxox[abprs]-[A-Za-z0-9-]{10,}/,
  /(?<=\b(?:Bearer|Basic) )[A-Za-z0-9._~+/-]{8,}=*/,
];

/** Environment variables whose values are hidden by default when set (8+ characters). */
export const SECRET_ENV_VARS: readonly string[] = [
  'ANTHROPIC_API_KEY',
  'OPENAI_API_KEY',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'GOOGLE_GENERATIVE_AI_API_KEY',
  'MISTRAL_API_KEY',
  'GROQ_API_KEY',
];

/**
 * Creates a redactor. All secrets and patterns are compiled into one regular expression (one
 * more per other set of flags a pattern uses), so checking a string that holds none costs one
 * scan.
 *
 * @example
 * ```ts
 * const redact = createRedactor({ secrets: [process.env.PAYMENTS_TOKEN!], patterns: [/acct_[0-9]+/] });
 * redact.string(`failed with token ${process.env.PAYMENTS_TOKEN}`); // 'failed with token [REDACTED]'
 * ```
 */
export function createRedactor(options: RedactOptions = {}): Redactor {
  const replacement = options.replacement ?? '[REDACTED]';
  const useDefaults = options.defaults ?? true;
  const literals = [
    ...(options.secrets ?? []),
    ...(useDefaults ? SECRET_ENV_VARS.map((name) => process.env[name] ?? '') : []),
  ].filter((secret) => secret.length >= 8);
  const matchers = compileMatchers(literals, [
    ...(useDefaults ? DEFAULT_SECRET_PATTERNS : []),
    ...(options.patterns ?? []),
  ]);
  const replacementBytes = new Uint8Array(Buffer.from(replacement, 'utf8'));
  const maxDepth = options.maxDepth ?? 64;
  if (!(Number.isInteger(maxDepth) && maxDepth > 0))
    throw new InvalidOptionError(`maxDepth must be a positive integer, got ${maxDepth}`);

  const replaceWith = (text: string, by: string): string => {
    let out = text;
    for (const matcher of matchers) {
      matcher.lastIndex = 0;
      if (!matcher.test(out)) continue;
      matcher.lastIndex = 0;
      // A function, so that `$&` or `$1` in the replacement stay as they are written.
      out = out.replace(matcher, () => by);
    }
    return out;
  };
  const string = (text: string): string => replaceWith(text, replacement);
  const walker = createWalker({
    string,
    replaceWith,
    bytes: (bytes) => scrubBytes(bytes, matchers, replacementBytes),
    replacement,
    maxDepth,
  });
  return {
    string,
    value: <T>(input: T) => walker.value(input) as T,
    error: <E>(input: E) => walker.error(input) as E,
  };
}

/** The redactor for an option value: `false` turns redaction off, nothing means the defaults. */
export function resolveRedactor(option: RedactOptions | Redactor | false | undefined): Redactor {
  if (option === false) return createRedactor({ defaults: false });
  if (option && 'string' in option && typeof option.string === 'function') return option;
  return createRedactor(option as RedactOptions | undefined);
}
