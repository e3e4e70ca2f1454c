export type {
  AssistantMessage,
  ImagePart,
  Message,
  ReasoningPart,
  TextPart,
  ToolCallPart,
  ToolMessage,
  ToolResultPart,
  UserMessage,
} from './messages';
export { textOf, toolCallsOf } from './messages';
export type {
  Model,
  ModelCallOptions,
  ModelRequest,
  ModelResponse,
  ModelStreamPart,
  ResponseFormat,
  StopReason,
  ToolSpec,
} from './model';
export type { ModelErrorKind, ModelErrorOptions } from './model-error';
export { ModelError, modelErrorKindFromStatus, parseRetryAfter } from './model-error';
export type { ModelPrice, PriceTable, TokenRates } from './pricing';
export { costOf, defaultPrices, findPrice } from './pricing';
export type { Usage } from './usage';
export { addUsage, emptyUsage, promptTokens, totalTokens } from './usage';
