import type { RunState as AgentsRunState, RunToolApprovalItem } from '@openai/agents';
import { InvalidOptionError, type Suspension } from 'loopwork';

/**
 * An answer to a tool call waiting for approval: `true` or `'approve'` runs it; `false` or
 * `'reject'` does not (the model reads that it was rejected, or `message`). `always` approves or
 * rejects every later call of that tool in the run.
 */
export type ApprovalAnswer =
  | boolean
  | 'approve'
  | 'reject'
  | { approve: boolean; message?: string; always?: boolean };

function decisionOf(
  id: string,
  answer: unknown,
): { approve: boolean; message?: string; always?: boolean } {
  if (answer === true || answer === 'approve') return { approve: true };
  if (answer === false || answer === 'reject') return { approve: false };
  if (
    typeof answer === 'object' &&
    answer !== null &&
    typeof (answer as { approve?: unknown }).approve === 'boolean'
  ) {
    const { approve, message, always } = answer as {
      approve: boolean;
      message?: unknown;
      always?: unknown;
    };
    return {
      approve,
      ...(typeof message === 'string' ? { message } : {}),
      ...(always === true ? { always: true } : {}),
    };
  }
  throw new InvalidOptionError(
    `[loopwork:openai-agents] answers.${id} must be true / 'approve', false / 'reject', or { approve: boolean, message?: string }, got ${JSON.stringify(answer)}`,
  );
}

/**
 * Applies `answers` (by tool call id) to the approvals the SDK run is waiting for, with
 * `state.approve` / `state.reject`. Returns the ids of the rejected calls.
 */
export function answerApprovals(
  // biome-ignore lint/suspicious/noExplicitAny: a run state of any agent.
  state: AgentsRunState<any, any>,
  answers: Record<string, unknown>,
): string[] {
  const pending = state.getInterruptions();
  const idOf = (item: (typeof pending)[number]) => {
    const raw = item.rawItem as { callId?: string; id?: string };
    return raw.callId ?? raw.id ?? '';
  };
  const rejected: string[] = [];
  for (const [id, answer] of Object.entries(answers)) {
    const item = pending.find((candidate) => idOf(candidate) === id);
    if (!item) {
      const waiting = pending.map(idOf).join(', ') || 'none';
      throw new InvalidOptionError(
        `[loopwork:openai-agents] answers: no tool call "${id}" is waiting for approval (waiting: ${waiting})`,
      );
    }
    const decision = decisionOf(id, answer);
    if (decision.approve) state.approve(item, { alwaysApprove: decision.always ?? false });
    else {
      state.reject(item, {
        alwaysReject: decision.always ?? false,
        ...(decision.message === undefined ? {} : { message: decision.message }),
      });
      rejected.push(id);
    }
  }
  return rejected;
}

/** A call waiting for approval, as loopwork shows it: a suspension with the call's input. */
export function suspensionOf(item: RunToolApprovalItem): Suspension {
  const raw = item.rawItem as { callId?: string; id?: string; name?: string; arguments?: unknown };
  let input: unknown = raw.arguments;
  try {
    if (typeof input === 'string') input = JSON.parse(input);
  } catch {
    // Not JSON: shown as the model sent it.
  }
  return {
    toolCallId: raw.callId ?? raw.id ?? '',
    toolName: item.toolName ?? raw.name ?? '',
    payload: { kind: 'approval', input },
  };
}
