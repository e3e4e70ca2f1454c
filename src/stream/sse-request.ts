/** An answer other than the stream: a status and a plain-text body saying why. */
export class SseRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'SseRefusal';
  }
}

const U64_MAX = 18_446_744_073_709_551_615n;
const ID = /^(\d{1,20})-(\d{1,20})$/;

/**
 * The Last-Event-ID a client sent, checked: `<milliseconds>-<sequence>`, each an unsigned 64-bit
 * integer, as the stream's `id:` lines carry them. Absent or empty: undefined. Anything else is
 * refused with 400 before the event log sees it (Redis would reject it, or worse, accept it).
 */
export function parseLastEventId(value: string | null): string | undefined {
  if (value === null || value === '') return undefined;
  const match = ID.exec(value);
  if (!match || BigInt(match[1] as string) > U64_MAX || BigInt(match[2] as string) > U64_MAX) {
    const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    throw new SseRefusal(
      400,
      `Last-Event-ID must be an event id as sent in the stream's id: lines (<milliseconds>-<sequence>, for example 1733270400000-0), got ${shown}`,
    );
  }
  return value;
}

/** True when `text` holds a control character (C0 or DEL), which has no place in a run id. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** True for a run id worth looking up: 1–256 characters, no control characters. */
export function validRunId(runId: unknown): runId is string {
  return typeof runId === 'string' && runId.length > 0 && runId.length <= 256 && !hasControl(runId);
}
