/** Characters that end a token: a secret (a key, a token) never spans one. */
const DELIMITER = /[\s"'`,;{}()[\]<>]/g;
/** How much already-shown text is redacted again with each piece, to catch a pattern across it. */
const CONTEXT = 256;

/**
 * Redacts a text that arrives in pieces (streamed text, streamed tool input), so that a secret split
 * across two pieces is still caught: each `push` returns the redacted text up to the last
 * delimiter seen (whitespace, quotes, brackets, commas …), holding back the token being written
 * until it is complete; `end` returns the rest. A pattern that spans what was already returned and
 * the new text (`Bearer` then the token) makes the new part `replacement`, since what was shown
 * cannot be taken back. Work and memory per piece are bounded by the piece, the open token and
 * 256 characters of context.
 *
 * Not caught: a literal secret that itself contains a delimiter, split at that delimiter.
 */
export function splitTextRedactor(redact: (text: string) => string, replacement: string) {
  // `pending` holds up to CONTEXT characters already shown, then the text not shown yet.
  let pending = '';
  let shown = 0; // how many characters at the start of `pending` were shown

  const take = (upTo: number): string => {
    if (upTo <= shown) return '';
    const before = redact(pending.slice(0, shown));
    const after = redact(pending.slice(0, upTo));
    const out = after.startsWith(before) ? after.slice(before.length) : replacement;
    const drop = Math.max(0, upTo - CONTEXT);
    pending = pending.slice(drop);
    shown = upTo - drop;
    return out;
  };

  return {
    /** Adds `piece`; returns what may be shown now ('' while a token is still open). */
    push(piece: string): string {
      const scanFrom = pending.length;
      pending += piece;
      let upTo = shown;
      DELIMITER.lastIndex = scanFrom;
      for (let match = DELIMITER.exec(pending); match; match = DELIMITER.exec(pending)) {
        upTo = match.index + 1;
      }
      return take(upTo);
    },
    /** The text held back, redacted; call once the text is complete. */
    end(): string {
      return take(pending.length);
    },
  };
}
