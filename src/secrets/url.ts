/** Alphanumeric, so no URL encoder changes it; stands for a hidden secret while the URL is rebuilt. */
const MARK = `lwredacted${Math.random().toString(36).slice(2)}x`;

const decode = (text: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

/**
 * A URL, redacted. Its whole `href` is checked, and so are its parts decoded (user name, password,
 * path, each query key and value, fragment), since a secret in a URL is usually percent-encoded
 * (`/` → `%2F`, `+` → `%2B`) and would not match as it is written in the `href`.
 *
 * A URL with a secret becomes its redacted `href` string — what `JSON.stringify` carries for a
 * URL — because a `URL` object cannot hold the replacement text unencoded. A clean URL is returned
 * as it is.
 */
export function redactUrl(
  input: URL,
  replaceWith: (text: string, by: string) => string,
  replacement: string,
): unknown {
  const href = input.href;
  const clean = (text: string) => replaceWith(text, MARK) === text;
  const parts = ['username', 'password', 'pathname', 'hash'] as const;
  const params = [...input.searchParams];
  const dirtyParts = parts.filter((part) => !clean(decode(input[part])));
  const dirtyQuery = !params.every(([key, value]) => clean(key) && clean(value));
  if (clean(href) && dirtyParts.length === 0 && !dirtyQuery) return input;

  const copy = new URL(href);
  for (const part of dirtyParts) copy[part] = replaceWith(decode(input[part]), MARK);
  if (dirtyQuery) {
    copy.search = new URLSearchParams(
      params.map(([key, value]): [string, string] => [
        replaceWith(key, MARK),
        replaceWith(value, MARK),
      ]),
    ).toString();
  }
  // Setters do nothing on URLs without those parts (`mailto:`); the last pass catches the rest.
  return replaceWith(copy.href, MARK).split(MARK).join(replacement);
}
