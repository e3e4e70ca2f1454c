/**
 * Test helpers for applications and adapter authors: `import { ScriptedModel } from 'loopwork/testing'`.
 *
 * @packageDocumentation
 */
export type { ScriptedModelOptions, ScriptedTurn } from './scripted-model';
export { ScriptedModel } from './scripted-model';
