import { isBuiltRedactor, type Redactor } from '../secrets/redact';
import { splitTextRedactor } from '../secrets/split-text';
import type { AgentEvent } from './events';

type Delta = Extract<AgentEvent, { type: 'text-delta' | 'tool-input-delta' }>;
type Open = { split: ReturnType<typeof splitTextRedactor>; last: Delta };

/** Every property name and `type` of the two delta events: what `redactor.value` would look at besides their strings. */
const DELTA_NAMES = ['type', 'runId', 'turn', 'toolCallId', 'text', 'inputTextDelta'];

/**
 * The run's events with streamed text and tool input redacted across pieces: a secret the model
 * writes in two `text-delta`s (or `tool-input-delta`s) is caught, because each delta shows the text
 * only up to its last delimiter and holds back the token being written (see
 * {@link splitTextRedactor}). Any other event first releases what is held back, as deltas, so
 * the order of events is kept and nothing is lost. Every string of every event still goes
 * through the redactor as it stands: other events through `redactor.value`; a delta's shown
 * piece (which may match on its own what did not match in context, an anchored pattern say) and
 * its ids through `redactor.string`, without a second walk of the whole event.
 */
export function streamedRedaction(redactor: Redactor) {
  const open = new Map<string, Open>();
  const text = (text: string) => redactor.string(text);
  // The walk of `redactor.value` also redacts property names and the `type`; when a pattern
  // touches one of them (it never does with the defaults), deltas take that walk too.
  // A redactor of the caller's own making is always asked through `value`.
  const namesClean =
    isBuiltRedactor(redactor) &&
    [...DELTA_NAMES, 'text-delta', 'tool-input-delta'].every(
      (name) => redactor.string(name) === name,
    );
  const deltaWith = (event: Delta, shown: string): AgentEvent => {
    if (!namesClean) return redactor.value(withText(event, shown));
    const runId = redactor.string(event.runId);
    if (event.type === 'text-delta') return { ...event, runId, text: redactor.string(shown) };
    return {
      ...event,
      runId,
      toolCallId: redactor.string(event.toolCallId),
      inputTextDelta: redactor.string(shown),
    };
  };

  const piece = (key: string, event: Delta, value: string, out: AgentEvent[]) => {
    let entry = open.get(key);
    if (!entry) {
      entry = { split: splitTextRedactor(text, '[REDACTED]'), last: event };
      open.set(key, entry);
    }
    entry.last = event;
    const shown = entry.split.push(value);
    if (shown) out.push(deltaWith(event, shown));
  };

  return (event: AgentEvent): AgentEvent[] => {
    const out: AgentEvent[] = [];
    if (event.type === 'text-delta') {
      piece(`text\u0000${event.turn}`, event, event.text, out);
    } else if (event.type === 'tool-input-delta') {
      piece(`tool\u0000${event.turn}\u0000${event.toolCallId}`, event, event.inputTextDelta, out);
    } else {
      for (const { split, last } of open.values()) {
        const rest = split.end();
        if (rest) out.push(deltaWith(last, rest));
      }
      open.clear();
      out.push(redactor.value(event));
    }
    return out;
  };
}

function withText(event: Delta, value: string): AgentEvent {
  if (event.type === 'text-delta') return { ...event, text: value };
  return { ...event, inputTextDelta: value };
}
