import type { HookCallbackMatcher, HookEvent, HookInput } from '@anthropic-ai/claude-agent-sdk';
import type { AgentEvent, ToolResultPart } from 'loopwork';

/** What the hooks of one run read from it. */
export interface HookContext {
  turn(): number;
  /** loopwork's name of a tool Claude Code calls by `name`. */
  toolName(name: string): string;
  /** The result a loopwork tool gave, by tool call id (undefined for Claude Code's own tools). */
  result(toolCallId: string): ToolResultPart | undefined;
  /** Called after each tool call ends: the run checkpoints its result. */
  afterTool(): Promise<void>;
}

const outputOf = (response: unknown): string => {
  if (typeof response === 'string') return response;
  if (Array.isArray(response))
    return response
      .map((block) => (block?.type === 'text' ? block.text : JSON.stringify(block)))
      .join('');
  return JSON.stringify(response) ?? '';
};

/**
 * Claude Code's PreToolUse / PostToolUse / PostToolUseFailure hooks as loopwork tool events, for
 * every tool the agent calls (loopwork's tools and Claude Code's own). Each hook lets the call go
 * on unchanged; PostToolUse and PostToolUseFailure wait for the checkpoint of the result.
 */
export class HookEvents {
  private readonly started = new Map<string, number>();

  constructor(
    private readonly runId: string,
    private readonly emit: (event: AgentEvent) => void,
    private readonly context: HookContext,
  ) {}

  hooks(): Partial<Record<HookEvent, HookCallbackMatcher[]>> {
    const on = (handle: (input: HookInput) => Promise<void> | void): HookCallbackMatcher[] => [
      {
        hooks: [
          async (input) => {
            await handle(input);
            return { continue: true };
          },
        ],
      },
    ];
    return {
      PreToolUse: on((input) => this.pre(input)),
      PostToolUse: on((input) => this.post(input)),
      PostToolUseFailure: on((input) => this.post(input)),
    };
  }

  private pre(input: HookInput): void {
    if (input.hook_event_name !== 'PreToolUse') return;
    this.started.set(input.tool_use_id, Date.now());
    this.emit({
      type: 'tool-call-started',
      runId: this.runId,
      turn: this.context.turn(),
      toolCallId: input.tool_use_id,
      toolName: this.context.toolName(input.tool_name),
      input: input.tool_input,
    });
  }

  private async post(input: HookInput): Promise<void> {
    if (input.hook_event_name !== 'PostToolUse' && input.hook_event_name !== 'PostToolUseFailure')
      return;
    const toolCallId = input.tool_use_id;
    const durationMs = Date.now() - (this.started.get(toolCallId) ?? Date.now());
    this.started.delete(toolCallId);
    const base = {
      runId: this.runId,
      turn: this.context.turn(),
      toolCallId,
      toolName: this.context.toolName(input.tool_name),
      durationMs,
    };
    const mine = this.context.result(toolCallId);
    const failed = mine ? mine.isError : input.hook_event_name === 'PostToolUseFailure';
    if (failed) {
      const message =
        mine?.output ?? (input.hook_event_name === 'PostToolUseFailure' ? input.error : 'failed');
      this.emit({ type: 'tool-call-failed', ...base, reason: 'threw', message });
    } else {
      const output =
        mine?.output ??
        outputOf(input.hook_event_name === 'PostToolUse' ? input.tool_response : '');
      this.emit({ type: 'tool-call-finished', ...base, output });
    }
    await this.context.afterTool();
  }
}
