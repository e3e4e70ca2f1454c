import type {
  Agent,
  ModelRequest as AgentsModelRequest,
  Model,
  ModelProvider,
} from '@openai/agents';
import { type BudgetLedger, InvalidOptionError } from 'loopwork';
import { type BudgetedModelEvent, budgetedModel } from './budgeted-model';
import type { Peers } from './peers';

// biome-ignore lint/suspicious/noExplicitAny: an agent of any context and output type.
type AnyAgent = Agent<any, any>;

/** What the run's models are built from. */
export interface RunModelsOptions {
  /** The model of agents without one of their own. */
  model?: Model | string;
  modelProvider?: ModelProvider;
  modelId?: string;
  ledger: BudgetLedger;
  estimateInputTokens?: (request: AgentsModelRequest) => number;
  beforeCall: (request: AgentsModelRequest) => Promise<void>;
  onCall?: (event: BudgetedModelEvent) => void;
}

/** Every agent reachable from `agent` through its handoffs. */
function agentsOf(agent: AnyAgent): AnyAgent[] {
  const seen = new Set<AnyAgent>();
  const visit = (current: AnyAgent) => {
    if (seen.has(current)) return;
    seen.add(current);
    for (const handoff of current.handoffs ?? [])
      visit(('agent' in handoff ? handoff.agent : handoff) as AnyAgent);
  };
  visit(agent);
  return [...seen];
}

/**
 * The run's models, all behind the budget ledger: the SDK prefers an agent's own model to the
 * Runner's, so the Runner gets a budgeted default model (for agents without one) and a budgeted
 * provider (for agents that name theirs). An agent holding a `Model` object would bypass both:
 * it is refused, with what to do instead.
 */
export async function runModels(
  peers: Peers,
  agent: AnyAgent,
  options: RunModelsOptions,
): Promise<{ model?: Model | string; modelProvider: ModelProvider }> {
  for (const each of agentsOf(agent)) {
    if (typeof each.model === 'object' && each.model !== null) {
      throw new InvalidOptionError(
        `[loopwork:openai-agents] agent "${each.name}" has a Model object as its model, which loopwork cannot budget; give it a model name (resolved by modelProvider) or pass the Model as the runtime's model and leave the agent's unset`,
      );
    }
  }
  const inner = options.modelProvider ?? new peers.OpenAIProvider();
  const budgeted = (model: Model, modelId: string | undefined) =>
    budgetedModel({
      model,
      ledger: options.ledger,
      beforeCall: options.beforeCall,
      ...(options.onCall ? { onCall: options.onCall } : {}),
      ...(modelId ? { modelId } : {}),
      ...(options.estimateInputTokens ? { estimateInputTokens: options.estimateInputTokens } : {}),
    });
  const named = new Map<string, Promise<Model>>();
  const modelProvider: ModelProvider = {
    getModel(name) {
      const key = name || peers.getDefaultModel();
      let model = named.get(key);
      if (!model) {
        model = Promise.resolve(inner.getModel(key)).then((found) => budgeted(found, key));
        named.set(key, model);
      }
      return model;
    },
  };
  const chosen = options.model;
  // A name is resolved by the budgeted provider when an agent without a model first needs it.
  const model =
    typeof chosen === 'object' && chosen !== null ? budgeted(chosen, options.modelId) : chosen;
  return { ...(model ? { model } : {}), modelProvider };
}
