import type { Redactor } from '../secrets/redact';
import { splitTextRedactor } from '../secrets/split-text';
import type { AgentEvent } from './events';

type Open = { split: ReturnType<typeof splitTextRedactor>; last: AgentEvent };

/**
 * The run's events with streamed text and tool input redacted across pieces: a secret the model
 * writes in two `text-delta`s (or `tool-input-delta`s) is caught, because each delta shows the text
 * only up to its last delimiter and holds back the token being written (see
 * {@link splitTextRedactor}). Any other event first releases what is held back, as deltas, so
 * the order of events is kept and nothing is lost. Every event still goes through `redactor.value`.
 */
export function streamedRedaction(redactor: Redactor) {
  const open = new Map<string, Open>();
  const text = (text: string) => redactor.string(text);

  const piece = (key: string, event: AgentEvent, value: string, out: AgentEvent[]) => {
    let entry = open.get(key);
    if (!entry) {
      entry = { split: splitTextRedactor(text, '[REDACTED]'), last: event };
      open.set(key, entry);
    }
    entry.last = event;
    const shown = entry.split.push(value);
    if (shown) out.push(withText(event, shown));
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
        if (rest) out.push(withText(last, rest));
      }
      open.clear();
      out.push(event);
    }
    return out.map((each) => redactor.value(each));
  };
}

function withText(event: AgentEvent, value: string): AgentEvent {
  if (event.type === 'text-delta') return { ...event, text: value };
  if (event.type === 'tool-input-delta') return { ...event, inputTextDelta: value };
  return event;
}
