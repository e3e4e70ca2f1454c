/**
 * Anthropic model adapter: `import { anthropic } from 'loopwork/anthropic'`.
 *
 * Needs the optional peer dependency `@anthropic-ai/sdk`.
 *
 * @packageDocumentation
 */
export type { AnthropicModelOptions } from './anthropic-model';
export { anthropic } from './anthropic-model';
