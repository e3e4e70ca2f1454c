import type { Attributes } from '@opentelemetry/api';
import { type Instrumentation, type ModelResponse, promptTokens, type RunResult } from 'loopwork';
import { errorTypeOf, type OtelShared } from './otel-instrumentation';
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_REQUEST_STOP_SEQUENCES,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_TOKEN_TYPE,
  ATTR_GEN_AI_TOOL_CALL_ID,
  ATTR_GEN_AI_TOOL_DESCRIPTION,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_TOOL_TYPE,
  GEN_AI_OPERATION_NAME_VALUE_CHAT,
  GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
  GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT,
  GEN_AI_TOKEN_TYPE_VALUE_INPUT,
  GEN_AI_TOKEN_TYPE_VALUE_OUTPUT,
} from './semconv';
import { usageAttributes, usageSince } from './usage-attributes';

/** Run statuses that end an `invoke_agent` span without an error. */
const OK_STATUSES = new Set<RunResult['status']>(['completed', 'suspended']);

/** The GenAI spans of an agent run: `invoke_agent`, `chat` and `execute_tool`. */
export function agentSpans(
  shared: OtelShared,
): Pick<Instrumentation, 'agentRun' | 'modelCall' | 'toolCall'> {
  const { api, instruments, agentName } = shared;
  const { SpanKind } = api;
  const agentAttributes: Attributes = agentName ? { [ATTR_GEN_AI_AGENT_NAME]: agentName } : {};
  const parentOf = (runId: string) => shared.runContexts.get(runId) ?? api.context.active();

  return {
    agentRun(info, execute) {
      const common: Attributes = {
        [ATTR_GEN_AI_PROVIDER_NAME]: info.provider,
        [ATTR_GEN_AI_REQUEST_MODEL]: info.modelId,
        ...agentAttributes,
      };
      const attributes: Attributes = {
        [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT,
        ...common,
        'loopwork.run.id': info.runId,
        'loopwork.run.resumed': info.resumed,
        'loopwork.run.turns_before': info.before.turns,
      };
      return shared.inSpan(
        agentName ? `invoke_agent ${agentName}` : 'invoke_agent',
        { kind: SpanKind.INTERNAL, attributes },
        parentOf(info.runId),
        execute,
        (span, result) => {
          // A resumed run's result counts its whole past: this span and the metrics get what
          // this invocation spent, so that sums over spans (and the cost counter) stay true.
          const usage = usageSince(result.usage, info.before.usage);
          const costUsd = Math.max(0, result.costUsd - info.before.costUsd);
          span.setAttributes({
            ...usageAttributes(usage),
            'loopwork.run.status': result.status,
            'loopwork.run.turns': result.turns.length - info.before.turns,
            'loopwork.run.cost_usd': costUsd,
            ...(result.budget ? { 'loopwork.run.budget': result.budget } : {}),
          });
          if (!OK_STATUSES.has(result.status)) {
            const type = result.error ? errorTypeOf(result.error) : result.status;
            shared.fail(span, type === '_OTHER' ? result.status : type, result.error);
          }
          instruments.runs.add(1, { ...common, 'loopwork.run.status': result.status });
          if (costUsd > 0) instruments.cost.add(costUsd, common);
        },
        info.runId,
      );
    },

    async modelCall(info, execute) {
      const common: Attributes = {
        [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_CHAT,
        [ATTR_GEN_AI_PROVIDER_NAME]: info.provider,
        [ATTR_GEN_AI_REQUEST_MODEL]: info.modelId,
      };
      const attributes: Attributes = {
        ...common,
        [ATTR_GEN_AI_REQUEST_MAX_TOKENS]: info.request.maxOutputTokens,
        ...(info.request.stopSequences?.length
          ? { [ATTR_GEN_AI_REQUEST_STOP_SEQUENCES]: info.request.stopSequences }
          : {}),
        ...agentAttributes,
        'loopwork.run.id': info.runId,
        'loopwork.turn': info.turn,
        'loopwork.model_call.attempt': info.attempt,
      };
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      try {
        return await shared.inSpan(
          `chat ${info.modelId}`,
          { kind: SpanKind.CLIENT, attributes },
          parentOf(info.runId),
          execute,
          (span, response) => {
            const responseModel = metadataString(response, 'model') ?? info.modelId;
            const responseId = metadataString(response, 'id');
            span.setAttributes({
              [ATTR_GEN_AI_RESPONSE_MODEL]: responseModel,
              ...(responseId ? { [ATTR_GEN_AI_RESPONSE_ID]: responseId } : {}),
              [ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: [response.stopReason],
              ...usageAttributes(response.usage),
            });
            const metric = { ...common, [ATTR_GEN_AI_RESPONSE_MODEL]: responseModel };
            instruments.operationDuration.record(seconds(), metric);
            instruments.tokenUsage.record(promptTokens(response.usage), {
              ...metric,
              [ATTR_GEN_AI_TOKEN_TYPE]: GEN_AI_TOKEN_TYPE_VALUE_INPUT,
            });
            instruments.tokenUsage.record(response.usage.outputTokens, {
              ...metric,
              [ATTR_GEN_AI_TOKEN_TYPE]: GEN_AI_TOKEN_TYPE_VALUE_OUTPUT,
            });
          },
        );
      } catch (error) {
        shared.safely(() =>
          instruments.operationDuration.record(seconds(), {
            ...common,
            [ATTR_ERROR_TYPE]: errorTypeOf(error),
          }),
        );
        throw error;
      }
    },

    toolCall(info, execute) {
      const attributes: Attributes = {
        [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
        [ATTR_GEN_AI_TOOL_NAME]: info.toolName,
        [ATTR_GEN_AI_TOOL_CALL_ID]: info.toolCallId,
        [ATTR_GEN_AI_TOOL_TYPE]: 'function',
        ...(info.description ? { [ATTR_GEN_AI_TOOL_DESCRIPTION]: info.description } : {}),
        ...agentAttributes,
        'loopwork.run.id': info.runId,
        'loopwork.turn': info.turn,
      };
      return shared.inSpan(
        `execute_tool ${info.toolName}`,
        { kind: SpanKind.INTERNAL, attributes },
        parentOf(info.runId),
        execute,
        (span, end) => {
          if (end.kind === 'suspended') span.setAttribute('loopwork.tool.suspended', true);
          // The model gets these as tool errors and the run goes on; the span still says so.
          if (end.kind === 'failed') shared.fail(span, end.reason, new ToolCallError(end.message));
        },
      );
    },
  };
}

/** A tool call's failure as the model was told it, for the span's exception event. */
class ToolCallError extends Error {
  override name = 'ToolCallError';
}

function metadataString(response: ModelResponse, key: string): string | undefined {
  const value = response.providerMetadata?.[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
