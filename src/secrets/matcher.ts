import { Buffer } from 'node:buffer';

/**
 * A literal as a pattern: letters and digits as they are, anything else escaped and allowed a
 * backslash before it (`tok\+live\/…` in a regular expression's source, `\"` in a quoted string).
 */
const literalPattern = (text: string) =>
  [...text]
    .map((char) =>
      /[A-Za-z0-9]/.test(char) ? char : `\\\\?${char.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')}`,
    )
    .join('');

/** `%2F` also matches `%2f`: encoders differ in the case of their hex digits. */
const anyHexCase = (source: string) =>
  source.replace(
    /%([0-9A-F])([0-9A-F])/g,
    (_, a: string, b: string) => `%[${a}${a.toLowerCase()}][${b}${b.toLowerCase()}]`,
  );

function userinfoEncoded(secret: string): string {
  const url = new URL('http://host');
  url.password = secret;
  return url.password;
}

/**
 * The forms a literal secret takes once something has encoded it: in a URL (percent-encoded as a
 * query value, a form field or a password), escaped inside a JSON string, and read byte by byte
 * (UTF-8 bytes as Latin-1, which is how binary data is scanned). A secret configured once is
 * hidden in all of them — and with a backslash before any of its punctuation, as a regular
 * expression's source or a quoted string shows it (see {@link compileMatchers}).
 */
export function literalForms(secret: string): string[] {
  return [
    ...new Set([
      secret,
      encodeURIComponent(secret),
      new URLSearchParams({ s: secret }).toString().slice(2),
      userinfoEncoded(secret),
      JSON.stringify(secret).slice(1, -1),
      Buffer.from(secret, 'utf8').toString('latin1'),
    ]),
  ];
}

/**
 * Global regular expressions for every literal (in each of its {@link literalForms}, longest
 * first, so a secret that contains another is hidden whole) and every pattern: one for the
 * literals and the patterns without flags, one more per other set of flags a pattern uses (a
 * pattern's `i`, `u`, `s` or `m` changes what it matches, so it is kept). Usually just one.
 */
export function compileMatchers(
  literals: readonly string[],
  patterns: readonly RegExp[],
): RegExp[] {
  // Every run makes a redactor, mostly from the same secrets and patterns: compile each set once.
  // Sharing the RegExps is safe: their users reset `lastIndex` and never await between uses.
  const key = JSON.stringify([literals, patterns.map((p) => [p.source, p.flags])]);
  const cached = compiled.get(key);
  if (cached) return cached;
  const matchers = compile(literals, patterns);
  if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value as string);
  compiled.set(key, matchers);
  return matchers;
}

const MAX_COMPILED = 64;
const compiled = new Map<string, RegExp[]>();

function compile(literals: readonly string[], patterns: readonly RegExp[]): RegExp[] {
  const forms = [...new Set(literals.flatMap(literalForms))].sort((a, b) => b.length - a.length);
  const groups = new Map<string, string[]>([['', forms.map((f) => anyHexCase(literalPattern(f)))]]);
  for (const pattern of patterns) {
    const flags = pattern.flags.replace(/[gyd]/g, '');
    groups.set(flags, [...(groups.get(flags) ?? []), pattern.source]);
  }
  return [...groups]
    .filter(([, sources]) => sources.length > 0)
    .map(([flags, sources]) => new RegExp(sources.map((s) => `(?:${s})`).join('|'), `g${flags}`));
}
