import { LoopworkError } from '../errors';
import { sleep } from '../internal/sleep';
import type { AssistantMessage, TextPart, ToolCallPart } from '../model/messages';
import type {
  Model,
  ModelCallOptions,
  ModelRequest,
  ModelResponse,
  ModelStreamPart,
  StopReason,
} from '../model/model';
import { ModelError, type ModelErrorKind } from '../model/model-error';
import { emptyUsage, type Usage } from '../model/usage';

/** One scripted answer of a {@link ScriptedModel}. */
export interface ScriptedTurn {
  /** Text the model answers with. */
  text?: string;
  /** Streamed in these pieces (their concatenation replaces `text`). */
  chunks?: string[];
  /**
   * Tool calls the model makes. Ids default to `call_<turn>_<index>`, `turn` counting the
   * conversation's model calls (assistant messages in the request, plus one): unique within a
   * run, and the same when a resumed run (in another process, with a new model) replays a turn.
   */
  toolCalls?: Array<{ name: string; input: unknown; id?: string }>;
  /**
   * Token counts to report. Unset counts are derived from the request and the answer at about
   * four UTF-8 bytes per token, as real tokenizers roughly do. Output beyond the request's
   * `maxOutputTokens` is cut off, as a real model would: tool calls are dropped, the text is
   * truncated and the stop reason becomes `max_tokens`.
   */
  usage?: Partial<Usage>;
  /** Overrides the stop reason. */
  stopReason?: StopReason;
  /** Fail this call instead of answering (consumes the turn). */
  error?:
    | ModelError
    | { kind: ModelErrorKind; message?: string; status?: number; retryAfterMs?: number };
  /** Wait this long before answering (abortable through the call's signal). */
  delayMs?: number;
}

/** Options of {@link ScriptedModel}. */
export interface ScriptedModelOptions {
  /** Answers in order, or a function choosing one per call (0-based call index). */
  turns: ScriptedTurn[] | ((request: ModelRequest, index: number) => ScriptedTurn);
  /** Reported model id (price lookup key). @defaultValue 'scripted' */
  modelId?: string;
  /** Set to false to make the model offer no `stream` method. @defaultValue true */
  streaming?: boolean;
  /**
   * Set to true to act as a model with native structured output: a run with an `output` schema
   * then sends `responseFormat` (see `requests`) and reads the answer from the text, instead of
   * offering a `final_answer` tool. The script still decides what is answered.
   * @defaultValue false
   */
  supportsResponseFormat?: boolean;
}

const BYTES_PER_TOKEN = 4;
const tokensOf = (value: unknown) =>
  Math.ceil(Buffer.byteLength(JSON.stringify(value)) / BYTES_PER_TOKEN);

/**
 * A model that replays scripted turns, for testing agents without a provider. It records every
 * request it receives in `requests`.
 *
 * @example
 * ```ts
 * const model = new ScriptedModel({ turns: [
 *   { toolCalls: [{ name: 'add', input: { a: 2, b: 3 } }] },
 *   { text: 'The sum is 5.' },
 * ] });
 * const result = await runAgent({ model, prompt: 'Add 2 and 3', tools: [add] });
 * expect(model.requests).toHaveLength(2);
 * ```
 */
export class ScriptedModel implements Model {
  readonly specificationVersion = 'loopwork.model.v1' as const;
  readonly provider = 'scripted';
  readonly modelId: string;
  /** Every request received, in order (failed attempts included). */
  readonly requests: ModelRequest[] = [];
  readonly supportsResponseFormat: boolean;
  declare stream?: NonNullable<Model['stream']>;
  private readonly script: ScriptedModelOptions['turns'];

  constructor(options: ScriptedModelOptions) {
    this.script = options.turns;
    this.modelId = options.modelId ?? 'scripted';
    this.supportsResponseFormat = options.supportsResponseFormat ?? false;
    if (options.streaming !== false) this.stream = this.streamTurn;
  }

  async generate(request: ModelRequest, options: ModelCallOptions): Promise<ModelResponse> {
    const { response } = await this.play(request, options);
    return response;
  }

  private async *streamTurn(
    request: ModelRequest,
    options: ModelCallOptions,
  ): AsyncIterable<ModelStreamPart> {
    const { response, chunks } = await this.play(request, options);
    for (const text of chunks) yield { type: 'text-delta', text };
    for (const part of response.message.content) {
      if (part.type !== 'tool-call') continue;
      // As the provider adapters stream a call: its start, its input JSON in pieces, the call.
      yield { type: 'tool-call-start', id: part.id, name: part.name };
      const json = JSON.stringify(part.input) ?? '';
      const half = Math.ceil(json.length / 2);
      for (const piece of [json.slice(0, half), json.slice(half)]) {
        if (piece) yield { type: 'tool-call-delta', id: part.id, inputTextDelta: piece };
      }
      yield { type: 'tool-call', toolCall: part };
    }
    yield { type: 'finish', response };
  }

  private async play(request: ModelRequest, options: ModelCallOptions) {
    const index = this.requests.length;
    this.requests.push(request);
    const turn = this.turnAt(request, index);
    if (turn.delayMs) await sleep(turn.delayMs, options.signal);
    options.signal.throwIfAborted();
    if (turn.error) throw toModelError(turn.error);
    return answer(turn, request);
  }

  private turnAt(request: ModelRequest, index: number): ScriptedTurn {
    if (typeof this.script === 'function') return this.script(request, index);
    const turn = this.script[index];
    if (!turn) {
      throw new LoopworkError(
        'script_exhausted',
        `[loopwork:scripted] call ${index + 1} has no scripted turn (the script has ${this.script.length})`,
      );
    }
    return turn;
  }
}

function answer(turn: ScriptedTurn, request: ModelRequest) {
  let chunks = turn.chunks ?? (turn.text ? [turn.text] : []);
  const text = chunks.join('');
  let toolCalls: ToolCallPart[] = (turn.toolCalls ?? []).map((call, j) => ({
    type: 'tool-call',
    id: call.id ?? `call_${conversationTurn(request)}_${j}`,
    name: call.name,
    input: call.input,
  }));
  const content: Array<TextPart | ToolCallPart> = [];
  let outputTokens = turn.usage?.outputTokens ?? Math.max(1, tokensOf([text, toolCalls]));
  let stopReason = turn.stopReason ?? (toolCalls.length > 0 ? 'tool_use' : 'end_turn');
  let finalText = text;
  if (outputTokens > request.maxOutputTokens) {
    outputTokens = request.maxOutputTokens;
    stopReason = 'max_tokens';
    toolCalls = [];
    finalText = text.slice(0, outputTokens * BYTES_PER_TOKEN);
    chunks = finalText ? [finalText] : [];
  }
  if (finalText) content.push({ type: 'text', text: finalText });
  content.push(...toolCalls);
  const usage: Usage = {
    ...emptyUsage(),
    // Counting the request means serializing it: skip that when the script gives the count.
    inputTokens:
      turn.usage?.inputTokens ?? tokensOf([request.system, request.tools, request.messages]),
    ...turn.usage,
    outputTokens,
  };
  const message: AssistantMessage = { role: 'assistant', content };
  const response: ModelResponse = { message, stopReason, usage };
  return { response, chunks };
}

/** The model call this request is in its conversation: assistant messages so far, plus one. */
function conversationTurn(request: ModelRequest): number {
  let turn = 1;
  for (const message of request.messages) if (message.role === 'assistant') turn++;
  return turn;
}

function toModelError(error: NonNullable<ScriptedTurn['error']>): ModelError {
  if (ModelError.isInstance(error)) return error;
  return new ModelError(error.message ?? `[loopwork:scripted] scripted ${error.kind} error`, {
    kind: error.kind,
    provider: 'scripted',
    ...(error.status === undefined ? {} : { status: error.status }),
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
  });
}
