/**
 * OpenAI model adapter: `import { openai } from 'loopwork/openai'`. Needs the `openai` package
 * (an optional peer dependency of loopwork).
 *
 * @packageDocumentation
 */

export type { OpenAIApi, OpenAIModel, OpenAIModelOptions } from './openai-model';
export { openai } from './openai-model';
