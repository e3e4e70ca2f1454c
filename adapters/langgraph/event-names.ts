/**
 * Names of the custom events the adapter's own parts (the budgeted model, the tool wrapper) send
 * through LangChain's callbacks, so that they reach `streamEvents` in order with the graph's own
 * events, and the runtime maps them to loopwork `AgentEvent`s.
 */
export const EVENT = {
  turnStarted: 'loopwork.turn-started',
  turnFinished: 'loopwork.turn-finished',
  toolStarted: 'loopwork.tool-call-started',
  toolFinished: 'loopwork.tool-call-finished',
  toolFailed: 'loopwork.tool-call-failed',
} as const;

/** Tag on the LangChain tools made from loopwork tools (their events come as custom events). */
export const LOOPWORK_TOOL_TAG = 'loopwork:tool';
