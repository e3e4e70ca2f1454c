// The settings of toolLoopAgentRuntime, typed: an AI SDK LanguageModelV3 object (not a model id),
// ToolLoopAgent settings passed through, and the ones the runtime owns kept out.
import type { Runtime } from 'loopwork';
import { type ScriptedLanguageModel, toolLoopAgentRuntime } from 'loopwork/ai-sdk';
import { expectTypeOf, it } from 'vitest';

declare const model: ScriptedLanguageModel;

it('takes a language model object and pass-through agent settings', () => {
  expectTypeOf(
    toolLoopAgentRuntime({ model, agent: { temperature: 0, maxRetries: 1 } }),
  ).toEqualTypeOf<Runtime>();
  // @ts-expect-error a gateway model id cannot be budgeted: a LanguageModelV3 object is required
  toolLoopAgentRuntime({ model: 'openai/gpt-5' });
  // @ts-expect-error the runtime owns the tools (loopwork tools go in `tools`)
  toolLoopAgentRuntime({ model, agent: { tools: {} } });
  // @ts-expect-error the runtime owns onStepFinish (it checkpoints there)
  toolLoopAgentRuntime({ model, agent: { onStepFinish: () => {} } });
});
