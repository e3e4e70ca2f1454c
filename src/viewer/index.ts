export type { Transcript, TranscriptToolCall, TranscriptTurn } from './transcript';
export { addToTranscript, emptyTranscript, toTranscript, usageTokens } from './transcript';
