export type { SseHandler, SseHandlerOptions, SseRequest } from './sse';
export { createSseHandler, formatSseEvent } from './sse';
