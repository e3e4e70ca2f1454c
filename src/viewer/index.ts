export type { Transcript, TranscriptToolCall, TranscriptTurn } from './transcript';
export { addToTranscript, emptyTranscript, toTranscript, usageTokens } from './transcript';
export type { RunViewer } from './viewer';
export { createRunViewer, VIEWER_CSP } from './viewer';
export type { RunViewerOptions, ViewerRequest } from './viewer-options';
