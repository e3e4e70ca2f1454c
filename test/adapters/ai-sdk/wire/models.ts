/**
 * The adapter over real AI SDK providers, pointed at msw: `@ai-sdk/openai` (Chat Completions)
 * and `@ai-sdk/anthropic`, with `mswSafeFetch` as their fetch (see its comment for why).
 */
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { type AiSdkModelOptions, aiSdk } from 'loopwork/ai-sdk';
import { mswSafeFetch } from '../../../helpers/msw-fetch';
import { ANTHROPIC_MODEL } from './anthropic';
import { OPENAI_MODEL } from './openai-chat';

export const OPENAI_KEY = 'sk-test-aisdk0123456789abcdefSECRET';
export const ANTHROPIC_KEY = 'sk-ant-api03-aisdkSECRET0123456789';

export function openaiChatLanguageModel() {
  return createOpenAI({
    apiKey: OPENAI_KEY,
    baseURL: 'https://api.openai.com/v1',
    fetch: mswSafeFetch,
  }).chat(OPENAI_MODEL);
}

export function anthropicLanguageModel() {
  return createAnthropic({
    apiKey: ANTHROPIC_KEY,
    baseURL: 'https://api.anthropic.com/v1',
    fetch: mswSafeFetch,
  })(ANTHROPIC_MODEL);
}

export const openaiChat = (options?: AiSdkModelOptions) =>
  aiSdk(openaiChatLanguageModel(), options);
export const anthropic = (options?: AiSdkModelOptions) => aiSdk(anthropicLanguageModel(), options);
