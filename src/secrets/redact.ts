/** What to hide. */
export interface RedactOptions {
  /** Exact secret values (API keys, tokens) to hide wherever they appear. */
  secrets?: readonly string[];
  /** Patterns to hide, in addition to (or, with `defaults: false`, instead of) the built-in ones. */
  patterns?: readonly RegExp[];
  /** Hide the built-in key formats and the values of well-known key variables in `process.env`. @defaultValue true */
  defaults?: boolean;
  /** What a hidden secret becomes. @defaultValue '[REDACTED]' */
  replacement?: string;
}

/** Hides secrets in strings, JSON-like values and errors. */
export interface Redactor {
  /** The string with every secret replaced. */
  string(text: string): string;
  /** A copy of a JSON-like value with secrets replaced in every string (the value itself when none). */
  value<T>(value: T): T;
  /** The same error, its message (and stack) with secrets replaced. */
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

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Creates a redactor. All secrets and patterns are compiled into one regular expression, so
 * checking a string that holds none costs one scan.
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
  const sources = [
    // Longest first, so a secret that contains another is hidden whole.
    ...[...new Set(literals)].sort((a, b) => b.length - a.length).map(escapeRegExp),
    ...(useDefaults ? DEFAULT_SECRET_PATTERNS : []).map((pattern) => pattern.source),
    ...(options.patterns ?? []).map((pattern) => pattern.source),
  ];
  const matcher =
    sources.length === 0 ? undefined : new RegExp(sources.map((s) => `(?:${s})`).join('|'), 'g');

  const string = (text: string): string => {
    if (!matcher) return text;
    matcher.lastIndex = 0;
    if (!matcher.test(text)) return text;
    matcher.lastIndex = 0;
    return text.replace(matcher, replacement);
  };

  const value = <T>(input: T): T => {
    if (typeof input === 'string') return string(input) as T;
    if (Array.isArray(input)) {
      let changed = false;
      const out = input.map((item) => {
        const next = value(item);
        changed ||= next !== item;
        return next;
      });
      return (changed ? out : input) as T;
    }
    if (
      input !== null &&
      typeof input === 'object' &&
      Object.getPrototypeOf(input) === Object.prototype
    ) {
      let out: Record<string, unknown> | undefined;
      for (const [key, item] of Object.entries(input)) {
        const next = value(item);
        if (next !== item) {
          out ??= { ...(input as Record<string, unknown>) };
          out[key] = next;
        }
      }
      return (out ?? input) as T;
    }
    return input;
  };

  const error = <E>(input: E): E => {
    if (input instanceof Error) {
      input.message = string(input.message);
      if (input.stack) input.stack = string(input.stack);
    }
    return input;
  };

  return { string, value, error };
}

/** The redactor for an option value: `false` turns redaction off, nothing means the defaults. */
export function resolveRedactor(option: RedactOptions | Redactor | false | undefined): Redactor {
  if (option === false) return createRedactor({ defaults: false });
  if (option && 'string' in option && typeof option.string === 'function') return option;
  return createRedactor(option as RedactOptions | undefined);
}
