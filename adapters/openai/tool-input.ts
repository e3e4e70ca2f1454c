/**
 * The input of a tool call from the JSON text the model produced.
 *
 * A JSON object is parsed; anything else (malformed JSON, a truncated stream, a bare array) is kept
 * as the raw string. A string never passes an object schema, so the loop answers with an
 * `invalid_input` tool error the model can read and correct, instead of the run crashing. An empty
 * text (some models send it for tools without parameters) means `{}`.
 */
export function parseToolArguments(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value;
  } catch {
    // Not JSON: fall through and keep the model's text.
  }
  return text;
}

/** The JSON text sent back to OpenAI for a tool call's input; a kept raw string goes back as it was. */
export function serializeToolInput(input: unknown): string {
  return typeof input === 'string' ? input : JSON.stringify(input ?? {});
}
