export type { SseHandler, SseHandlerOptions, SseRequest } from './sse';
export { createSseHandler, formatSseEvent } from './sse';
export { SSE_DEFAULTS } from './sse-defaults';
