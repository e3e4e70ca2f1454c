import type { StopReason, Usage } from 'loopwork';
import {
  type FormatRun,
  field,
  num,
  type ProcessFormat,
  type Signal,
  textOfContent,
} from './format';

/** What the runtime keeps of a Claude Code session in the checkpoint. */
export interface ClaudeHandle {
  /** `session_id` of the stream: passed back as `--resume <id>`. */
  sessionId: string;
}

/** Anthropic usage (`message.usage`) in loopwork's buckets. */
export function claudeUsage(usage: unknown): Usage {
  return {
    inputTokens: num(field(usage, 'input_tokens')),
    outputTokens: num(field(usage, 'output_tokens')),
    cacheReadTokens: num(field(usage, 'cache_read_input_tokens')),
    cacheWriteTokens: num(field(usage, 'cache_creation_input_tokens')),
    reasoningTokens: 0,
  };
}

const STOP_REASONS: Record<string, StopReason> = {
  end_turn: 'end_turn',
  tool_use: 'tool_use',
  max_tokens: 'max_tokens',
  stop_sequence: 'stop_sequence',
  refusal: 'content_filter',
};

/** How a `result` line's subtype ends the run. */
const RESULT_STATUS = {
  success: 'completed',
  error_max_turns: 'max_turns',
  error_max_budget_usd: 'budget_exceeded',
} as const;

/**
 * One run's decoder. Claude Code streams an assistant message one content block per line, each
 * line repeating the message's id and usage: the usage is counted once per message id, when the
 * message is over (another message, a tool result or the result line follows).
 */
function claudeDecoder() {
  let open:
    | { id: string; modelId?: string; usage: Usage; stop?: string; usedTools: boolean }
    | undefined;
  const close = (): Signal[] => {
    if (!open) return [];
    const { modelId, usage, stop, usedTools } = open;
    open = undefined;
    const stopReason = (stop && STOP_REASONS[stop]) || (usedTools ? 'tool_use' : 'end_turn');
    return [{ kind: 'turn', ...(modelId ? { modelId } : {}), usage, stopReason }];
  };
  return {
    decode(line: unknown): Signal[] {
      const type = field(line, 'type');
      const sessionId = field(line, 'session_id');
      const handle: Signal[] =
        typeof sessionId === 'string' && (type === 'system' || type === 'result')
          ? [
              {
                kind: 'handle',
                handle: { sessionId } satisfies ClaudeHandle,
                checkpoint: type === 'system',
              },
            ]
          : [];
      if (type === 'assistant') {
        const message = field(line, 'message');
        const id = String(field(message, 'id') ?? '');
        const signals = open && open.id !== id ? close() : [];
        const model = field(message, 'model');
        open ??= { id, usage: claudeUsage(undefined), usedTools: false };
        if (typeof model === 'string') open.modelId = model;
        if (field(message, 'usage')) open.usage = claudeUsage(field(message, 'usage'));
        const stop = field(message, 'stop_reason');
        if (typeof stop === 'string') open.stop = stop;
        const content = field(message, 'content');
        for (const block of Array.isArray(content) ? content : []) {
          const kind = field(block, 'type');
          if (kind === 'text')
            signals.push({ kind: 'text', text: String(field(block, 'text') ?? '') });
          if (kind === 'tool_use') {
            open.usedTools = true;
            signals.push({
              kind: 'tool-call',
              id: String(field(block, 'id')),
              name: String(field(block, 'name')),
              input: field(block, 'input'),
              by: 'agent',
            });
          }
        }
        return signals;
      }
      if (type === 'user') {
        const signals = close();
        const content = field(field(line, 'message'), 'content');
        for (const block of Array.isArray(content) ? content : []) {
          if (field(block, 'type') !== 'tool_result') continue;
          signals.push({
            kind: 'tool-result',
            id: String(field(block, 'tool_use_id')),
            output: textOfContent(field(block, 'content')),
            isError: field(block, 'is_error') === true,
          });
        }
        return signals;
      }
      if (type === 'result') {
        const subtype = String(field(line, 'subtype'));
        const status = RESULT_STATUS[subtype as keyof typeof RESULT_STATUS] ?? 'failed';
        const isError = field(line, 'is_error') === true;
        const errors = field(line, 'errors');
        const text = field(line, 'result');
        const error =
          Array.isArray(errors) && errors.length > 0
            ? errors.join('; ')
            : typeof text === 'string'
              ? text
              : subtype;
        return [
          ...close(),
          ...handle,
          status === 'completed' && !isError
            ? { kind: 'result', status, output: text }
            : { kind: 'result', status: status === 'completed' ? 'failed' : status, error },
        ];
      }
      return handle;
    },
  };
}

/**
 * Claude Code's `claude -p --output-format stream-json --verbose`: its `system`/`init` line names
 * the session (kept as the handle, resumed with `--resume <id>`), `assistant` lines carry text,
 * tool calls and usage, `user` lines the tool results, and the `result` line how the run ended
 * (`error_max_turns` → `max_turns`, `error_max_budget_usd` → `budget_exceeded`). loopwork prices
 * the tokens itself (`total_cost_usd` is Claude Code's estimate). Other lines are skipped.
 */
export const claudeStreamJson: ProcessFormat = {
  name: 'claude-stream-json',
  badLines: 'skip',
  handleKind: 'session',
  defaultInput: 'args',
  keepsStdinOpen: false,
  args(run: FormatRun) {
    const sessionId = field(run.handle, 'sessionId');
    return [
      '-p',
      ...(run.input === 'args' && run.prompt !== undefined ? [run.prompt] : []),
      '--output-format',
      'stream-json',
      '--verbose',
      ...(typeof sessionId === 'string' ? ['--resume', sessionId] : []),
      ...(run.remainingTurns === undefined ? [] : ['--max-turns', String(run.remainingTurns)]),
      ...run.extraArgs,
    ];
  },
  stdin: (run) => (run.input === 'stdin' ? run.prompt : undefined),
  decoder: claudeDecoder,
};
