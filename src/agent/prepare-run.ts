import { randomUUID } from 'node:crypto';
import { InvalidOptionError } from '../errors';
import { type ToolResultPart, toolCallsOf } from '../model/messages';
import type { ToolSpec } from '../model/model';
import { defaultPrices, findPrice, type ModelPrice } from '../model/pricing';
import type { SessionStore } from '../store/session-store';
import type { AgentOptions } from './options';
import { FINAL_ANSWER_TOOL, finalAnswerTool, type OutputPlan, planOutput } from './output';
import { parseRunState, RUN_STATE_SCHEMA_VERSION, type RunState } from './run-state';
import type { Tool } from './tool';
import { toolSpecOf } from './tool-schema';

/** What the loop needs that is fixed for the whole invocation. */
export interface PreparedRun {
  state: RunState;
  resumed: boolean;
  tools: Map<string, Tool>;
  toolSpecs: ToolSpec[];
  price: ModelPrice | undefined;
  /** How the run asks for and checks its structured answer, when it has an `output` schema. */
  output: OutputPlan | undefined;
  /** Saves the state under the run id (a no-op without a checkpoint store). */
  checkpoint(state: RunState): Promise<void>;
}

/** Resolves prices, tools and the state to start from; throws before any model call on bad input. */
export async function prepareRun(options: AgentOptions): Promise<PreparedRun> {
  const price = findPrice({ ...defaultPrices, ...options.prices }, options.model.modelId);
  if (options.maxCostUsd !== undefined && !price) {
    throw new InvalidOptionError(
      `maxCostUsd is set but no price is known for model "${options.model.modelId}" (${options.model.provider}); ` +
        `add one with prices: { '${options.model.modelId}': { inputPerMTok, outputPerMTok } }`,
    );
  }
  const output = planOutput(options);
  const tools = new Map((options.tools ?? []).map((tool) => [tool.name, tool as Tool]));

  const runId = options.runId ?? options.state?.runId ?? randomUUID();
  const stored = options.checkpoints ? await options.checkpoints.load(runId) : undefined;
  const given = options.state ?? stored?.state;
  const state = given
    ? continueState(parseRunState(given), runId, options)
    : newState(runId, options);
  if (output?.mode === 'tool') {
    tools.set(
      FINAL_ANSWER_TOOL,
      finalAnswerTool(output, (value) => {
        state.output = { ...state.output, refused: state.output?.refused ?? 0, value };
      }),
    );
  }
  const toolSpecs = await Promise.all([...tools.values()].map(toolSpecOf));
  const checkpoint = checkpointer(options.checkpoints, runId, stored?.version ?? null);
  return { state, resumed: given !== undefined, tools, toolSpecs, price, output, checkpoint };
}

function newState(runId: string, options: AgentOptions): RunState {
  if (options.prompt === undefined) {
    throw new InvalidOptionError(
      `prompt is required: there is no saved state for run "${runId}" to continue`,
    );
  }
  for (const option of ['answers', 'followUp'] as const) {
    if (options[option] !== undefined) {
      throw new InvalidOptionError(
        `${option}: there is no saved state for run "${runId}" to continue (start it with prompt)`,
      );
    }
  }
  return {
    schemaVersion: RUN_STATE_SCHEMA_VERSION,
    runId,
    status: 'running',
    ...(options.system === undefined ? {} : { system: options.system }),
    messages: [{ role: 'user', content: options.prompt }],
    turns: [],
    toolResults: [],
    suspensions: [],
  };
}

function continueState(loaded: RunState, runId: string, options: AgentOptions): RunState {
  if (loaded.runId !== runId) {
    throw new InvalidOptionError(`runId is "${runId}" but state belongs to run "${loaded.runId}"`);
  }
  const state: RunState = { ...loaded, status: 'running', toolResults: [...loaded.toolResults] };
  delete state.error;
  if (options.system !== undefined) state.system = options.system;
  if (options.answers !== undefined) applyAnswers(state, options.answers);
  // `prompt` is deliberately ignored here: the run already has its first message.
  if (options.followUp !== undefined) {
    const last = state.messages.at(-1);
    if (last?.role === 'assistant' && toolCallsOf(last).length > 0) {
      throw new InvalidOptionError(
        `followUp: run "${runId}" is waiting on tool calls; continue it without followUp (answer suspended calls with answers)`,
      );
    }
    state.messages = [...state.messages, { role: 'user', content: options.followUp }];
    // A follow-up asks a new question: its answer is still to come.
    delete state.output;
  }
  return state;
}

function applyAnswers(state: RunState, answers: Record<string, unknown>): void {
  for (const [toolCallId, answer] of Object.entries(answers)) {
    const suspension = state.suspensions.find((s) => s.toolCallId === toolCallId);
    if (!suspension) {
      const waiting = state.suspensions.map((s) => s.toolCallId).join(', ') || 'none';
      throw new InvalidOptionError(
        `answers: no suspended tool call "${toolCallId}" (waiting: ${waiting})`,
      );
    }
    const result: ToolResultPart = {
      type: 'tool-result',
      toolCallId,
      toolName: suspension.toolName,
      output: typeof answer === 'string' ? answer : (JSON.stringify(answer) ?? 'null'),
      isError: false,
    };
    state.toolResults.push(result);
  }
  state.suspensions = state.suspensions.filter((s) => !(s.toolCallId in answers));
}

function checkpointer(store: SessionStore | undefined, key: string, version: number | null) {
  let current = version;
  // Saves run one at a time, in call order: when a run is aborted while a tool result's save is
  // still in flight, the final save must wait for it, or both name the same version and the
  // store refuses one with a ConflictError.
  let previous: Promise<unknown> = Promise.resolve();
  return (state: RunState): Promise<void> => {
    const save = previous.then(async () => {
      if (store) current = await store.save(key, state, current);
    });
    previous = save.catch(() => {});
    return save;
  };
}
