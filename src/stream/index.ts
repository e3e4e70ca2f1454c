export type { SseHandler } from './sse';
export { createSseHandler } from './sse';
export type { SseHandlerOptions, SseRequest } from './sse-options';
export { SSE_DEFAULTS } from './sse-options';
export { formatSseEvent } from './sse-stream';
