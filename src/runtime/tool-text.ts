// Helpers for runtime adapters that run loopwork tools inside another framework: the same words
// for a tool's failures as loopwork's own loop, and a description of anything thrown that never
// throws itself (an adapter's `String(error)` does, on a null-prototype object).
export { describeIssues } from '../internal/describe-issues';
export { describeThrown } from '../internal/describe-thrown';

/** A tool's return value as the text the model reads: strings as they are, anything else as JSON. */
export function toolOutputText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');
}
