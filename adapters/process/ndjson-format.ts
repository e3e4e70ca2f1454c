import { emptyUsage } from 'loopwork';
import { z } from 'zod';
import type { FormatRun, ProcessFormat, Signal } from './format';

/** The protocol's name and version, in `hello` and `start` lines. */
export const NDJSON_PROTOCOL = { protocol: 'loopwork-ndjson', version: 1 } as const;

const tokens = z.number().int().nonnegative().optional();
const usage = z
  .object({
    inputTokens: tokens,
    outputTokens: tokens,
    cacheReadTokens: tokens,
    cacheWriteTokens: tokens,
    reasoningTokens: tokens,
  })
  .default({});
const stopReason = z
  .enum(['end_turn', 'tool_use', 'max_tokens', 'stop_sequence', 'content_filter', 'other'])
  .default('other');

/** Every line an agent may write (v1). Unknown `type`s are ignored, for later versions. */
const lineSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), protocol: z.string(), version: z.number() }),
  z.object({ type: z.literal('text'), text: z.string() }),
  z.object({
    type: z.literal('model-call'),
    id: z.string().min(1),
    modelId: z.string().min(1),
    estimatedInputTokens: z.number().int().nonnegative(),
    maxOutputTokens: z.number().int().positive().optional(),
  }),
  z.object({
    type: z.literal('turn'),
    id: z.string().optional(),
    modelId: z.string().optional(),
    usage,
    stopReason,
  }),
  z.object({
    type: z.literal('tool-call'),
    id: z.string().min(1),
    name: z.string(),
    input: z.unknown(),
  }),
  z.object({
    type: z.literal('tool-started'),
    id: z.string().min(1),
    name: z.string(),
    input: z.unknown(),
  }),
  z.object({
    type: z.literal('tool-finished'),
    id: z.string().min(1),
    output: z.unknown(),
    isError: z.boolean().default(false),
  }),
  z.object({ type: z.literal('checkpoint'), handle: z.unknown() }),
  z.object({
    type: z.literal('result'),
    status: z
      .enum(['completed', 'failed', 'max_turns', 'budget_exceeded', 'timeout', 'aborted'])
      .default('completed'),
    output: z.unknown().optional(),
    error: z.string().optional(),
  }),
]);

const KNOWN = new Set<string>(lineSchema.options.map((option) => option.shape.type.value));

const asText = (value: unknown): string =>
  typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');

function signalsOf(line: z.infer<typeof lineSchema>): Signal[] {
  switch (line.type) {
    case 'hello':
      if (line.protocol !== NDJSON_PROTOCOL.protocol || line.version !== NDJSON_PROTOCOL.version) {
        throw new Error(
          `the agent speaks ${line.protocol} v${line.version}; this loopwork speaks ${NDJSON_PROTOCOL.protocol} v${NDJSON_PROTOCOL.version}`,
        );
      }
      return [];
    case 'text':
      return [{ kind: 'text', text: line.text }];
    case 'model-call':
      return [{ kind: 'model-call', ...line }];
    case 'turn':
      return [
        {
          kind: 'turn',
          ...(line.modelId ? { modelId: line.modelId } : {}),
          ...(line.id ? { callId: line.id } : {}),
          usage: { ...emptyUsage(), ...line.usage },
          stopReason: line.stopReason,
        },
      ];
    case 'tool-call':
      return [
        { kind: 'tool-call', id: line.id, name: line.name, input: line.input, by: 'loopwork' },
      ];
    case 'tool-started':
      return [{ kind: 'tool-call', id: line.id, name: line.name, input: line.input, by: 'agent' }];
    case 'tool-finished':
      return [
        { kind: 'tool-result', id: line.id, output: asText(line.output), isError: line.isError },
      ];
    case 'checkpoint':
      return [{ kind: 'handle', handle: line.handle, checkpoint: true }];
    case 'result':
      return [
        {
          kind: 'result',
          status: line.status,
          ...(line.output === undefined ? {} : { output: line.output }),
          ...(line.error === undefined ? {} : { error: line.error }),
        },
      ];
  }
}

/**
 * loopwork's own NDJSON protocol (docs/runtimes/process.md): a `start` line on stdin, then the
 * agent asks leave for each model call (`model-call` → `model-call-allowed` with its output cap,
 * so budgets are hard), reports each call's usage (`turn`), asks loopwork to run its tools
 * (`tool-call` → `tool-result`) or reports its own, checkpoints its state (`checkpoint`) and ends
 * with `result`. Malformed lines fail the run.
 */
export const loopworkNdjson: ProcessFormat = {
  name: 'loopwork-ndjson',
  badLines: 'fail',
  handleKind: 'snapshot',
  defaultInput: 'stdin',
  keepsStdinOpen: true,
  args: (run: FormatRun) => run.extraArgs,
  stdin: (run: FormatRun) =>
    `${JSON.stringify({
      type: 'start',
      ...NDJSON_PROTOCOL,
      runId: run.runId,
      ...(run.prompt === undefined ? {} : { prompt: run.prompt }),
      ...(run.answers === undefined ? {} : { answers: run.answers }),
      resume: run.handle ?? null,
      ...(run.resumeKind ? { resumeKind: run.resumeKind } : {}),
      limits: run.limits,
      tools: run.tools,
    })}\n`,
  decoder: () => ({
    decode(value) {
      const type = (value as { type?: unknown } | null)?.type;
      if (typeof type === 'string' && !KNOWN.has(type)) return [];
      const parsed = lineSchema.safeParse(value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const path = issue?.path.join('.') || 'type';
        throw new Error(`${path}: ${issue?.message}`);
      }
      return signalsOf(parsed.data);
    },
  }),
};
