/**
 * The Vercel AI SDK adapter: `import { aiSdk } from 'loopwork/ai-sdk'`. Wraps any `ai` 6
 * language model (`LanguageModelV3`) as a loopwork model; needs the optional peer dependency `ai`.
 *
 * @packageDocumentation
 */

export type { AiSdkModelOptions } from './ai-sdk-model';
export { aiSdk } from './ai-sdk-model';
export type { AiSdkCallSettings, AiSdkLanguageModel, V3CallOptions } from './types';
