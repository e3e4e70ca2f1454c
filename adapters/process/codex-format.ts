import { emptyUsage, type Usage } from 'loopwork';
import { type FormatRun, field, num, type ProcessFormat, type Signal } from './format';

/** What the runtime keeps of a Codex thread in the checkpoint. */
export interface CodexHandle {
  /** `thread_id` of `thread.started`: passed back as `codex exec resume <id>`. */
  threadId: string;
  /** The thread's usage as Codex last reported it (cumulative over the thread after a resume). */
  reported?: Usage;
}

/**
 * `turn.completed` usage in loopwork's disjoint buckets: Codex's `input_tokens` counts the cached
 * (`cached_input_tokens`) and cache-written (`cache_write_input_tokens`, 0.171+) ones too.
 */
export function codexUsage(usage: unknown): Usage {
  const cached = num(field(usage, 'cached_input_tokens'));
  const written = num(field(usage, 'cache_write_input_tokens'));
  return {
    inputTokens: Math.max(0, num(field(usage, 'input_tokens')) - cached - written),
    outputTokens: num(field(usage, 'output_tokens')),
    cacheReadTokens: cached,
    cacheWriteTokens: written,
    reasoningTokens: num(field(usage, 'reasoning_output_tokens')),
  };
}

const KEYS = Object.keys(emptyUsage()) as Array<keyof Usage>;

/**
 * What a turn used: the difference from the thread's previous report when this one is a running
 * total (every count at least the previous one), else the report as is.
 */
export function usageSince(report: Usage, previous: Usage | undefined): Usage {
  if (!previous || KEYS.some((key) => report[key] < previous[key])) return report;
  return Object.fromEntries(
    KEYS.map((key) => [key, report[key] - previous[key]]),
  ) as unknown as Usage;
}

/** A tool-like item's call name and input, for loopwork's tool events. */
function callOf(item: unknown): { name: string; input: unknown } | undefined {
  switch (field(item, 'type')) {
    case 'command_execution':
      return { name: 'command_execution', input: { command: field(item, 'command') } };
    case 'mcp_tool_call':
      return {
        name: `${field(item, 'server')}.${field(item, 'tool')}`,
        input: field(item, 'arguments'),
      };
    case 'web_search':
      return { name: 'web_search', input: { query: field(item, 'query') } };
    case 'file_change':
      return { name: 'file_change', input: { changes: field(item, 'changes') } };
    default:
      return undefined;
  }
}

function resultOf(item: unknown): { output: string; isError: boolean } {
  const status = field(item, 'status');
  switch (field(item, 'type')) {
    case 'command_execution': {
      const code = field(item, 'exit_code');
      return {
        output: String(field(item, 'aggregated_output') ?? ''),
        isError: status === 'failed' || (typeof code === 'number' && code !== 0),
      };
    }
    case 'mcp_tool_call': {
      const error = field(field(item, 'error'), 'message');
      return typeof error === 'string'
        ? { output: error, isError: true }
        : { output: JSON.stringify(field(item, 'result') ?? null), isError: status === 'failed' };
    }
    default:
      return { output: String(status ?? 'completed'), isError: status === 'failed' };
  }
}

function codexDecoder(run: FormatRun) {
  const resumed = run.handle as CodexHandle | undefined;
  let threadId = resumed?.threadId;
  let reported = resumed?.reported;
  let lastMessage: string | undefined;
  const started = new Set<string>();
  return {
    decode(line: unknown): Signal[] {
      const item = field(line, 'item');
      const id = String(field(item, 'id') ?? '');
      switch (field(line, 'type')) {
        case 'thread.started':
          threadId = String(field(line, 'thread_id'));
          return [
            {
              kind: 'handle',
              handle: { threadId, ...(reported ? { reported } : {}) },
              checkpoint: true,
            },
          ];
        case 'item.started': {
          const call = callOf(item);
          if (!call) return [];
          started.add(id);
          return [{ kind: 'tool-call', id, ...call, by: 'agent' }];
        }
        case 'item.completed': {
          if (field(item, 'type') === 'agent_message') {
            lastMessage = String(field(item, 'text') ?? '');
            return [{ kind: 'text', text: lastMessage }];
          }
          const call = callOf(item);
          if (!call) return [];
          const signals: Signal[] = started.has(id)
            ? []
            : [{ kind: 'tool-call', id, ...call, by: 'agent' }];
          signals.push({ kind: 'tool-result', id, ...resultOf(item) });
          return signals;
        }
        case 'turn.completed': {
          const report = codexUsage(field(line, 'usage'));
          const usage = usageSince(report, reported);
          reported = report;
          return [
            { kind: 'turn', usage, stopReason: 'end_turn' },
            ...(threadId
              ? [{ kind: 'handle' as const, handle: { threadId, reported }, checkpoint: false }]
              : []),
            {
              kind: 'result',
              status: 'completed',
              ...(lastMessage === undefined ? {} : { output: lastMessage }),
            },
          ];
        }
        case 'turn.failed':
          return [
            {
              kind: 'result',
              status: 'failed',
              error: String(field(field(line, 'error'), 'message') ?? 'turn failed'),
            },
          ];
        default:
          return [];
      }
    },
  };
}

/**
 * Codex's `codex exec --json`: `thread.started` names the thread (kept as the handle, resumed
 * with `codex exec resume <id>`), items carry messages and tool-like work (commands, MCP calls,
 * file changes, web searches), and `turn.completed` the usage — a running total over the thread
 * after a resume, so the handle keeps the last report and each turn counts the difference.
 * Codex does not name its model in the stream: set `modelId` for loopwork to price the tokens.
 */
export const codexExecJson: ProcessFormat = {
  name: 'codex-exec-json',
  badLines: 'skip',
  handleKind: 'session',
  defaultInput: 'args',
  keepsStdinOpen: false,
  args(run: FormatRun) {
    const threadId = field(run.handle, 'threadId');
    return [
      'exec',
      '--json',
      ...run.extraArgs,
      ...(typeof threadId === 'string' ? ['resume', threadId] : []),
      '--',
      run.input === 'args' ? (run.prompt ?? '') : '-',
    ];
  },
  stdin: (run) => (run.input === 'stdin' ? run.prompt : undefined),
  decoder: codexDecoder,
};
