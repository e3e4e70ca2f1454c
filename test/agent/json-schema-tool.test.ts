import {
  defineTool,
  InvalidOptionError,
  jsonSchema,
  jsonSchemaTool,
  runAgent,
  type ToolContext,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { eventLog, lastToolResults, rejectionOf } from './helpers';

const weatherSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    city: { type: 'string', minLength: 2 },
    days: { type: 'integer', minimum: 1 },
    unit: { enum: ['c', 'f'] },
    when: { type: 'string', format: 'date-time' },
    tags: { type: 'array', items: { type: 'string' } },
    place: {
      type: 'object',
      properties: { lat: { type: 'number' } },
      required: ['lat'],
      additionalProperties: false,
    },
  },
  required: ['city'],
  additionalProperties: false,
};

/** Runs one call of `tool` with `input` and returns the result the model saw. */
async function callOnce(tool: ReturnType<typeof jsonSchemaTool>, input: unknown) {
  const model = new ScriptedModel({
    turns: [{ toolCalls: [{ name: tool.name, input }] }, { text: 'done' }],
  });
  const log = eventLog();
  const result = await runAgent({ model, prompt: 'go', tools: [tool], onEvent: log.onEvent });
  return { result, model, log, toolResult: lastToolResults(result.state.messages)[0] };
}

describe('jsonSchemaTool', () => {
  it('sends the schema without $schema and runs execute with a valid input', async () => {
    const seen: Array<{ city: string }> = [];
    const weather = jsonSchemaTool<{ city: string }>({
      name: 'get_weather',
      description: 'Current weather for a city',
      inputSchema: weatherSchema,
      execute: (input, _context: ToolContext) => {
        seen.push(input);
        return `sunny in ${input.city}`;
      },
    });
    const { model, toolResult } = await callOnce(weather, { city: 'Oslo', days: 2 });
    const { $schema: _, ...sent } = weatherSchema;
    expect(model.requests[0]?.tools).toEqual([
      { name: 'get_weather', description: 'Current weather for a city', inputSchema: sent },
    ]);
    expect(seen).toEqual([{ city: 'Oslo', days: 2 }]);
    expect(toolResult).toMatchObject({ output: 'sunny in Oslo', isError: false });
  });

  it('refuses an invalid input with one readable line per field, as for zod tools', async () => {
    let ran = false;
    const weather = jsonSchemaTool({
      name: 'get_weather',
      description: 'Weather',
      inputSchema: weatherSchema,
      execute: () => {
        ran = true;
      },
    });
    const { toolResult, log } = await callOnce(weather, {
      days: 0.5,
      unit: 'k',
      when: 'yesterday',
      tags: ['a', 7],
      place: { lon: 3 },
      extra: true,
    });
    expect(ran).toBe(false);
    expect(toolResult?.isError).toBe(true);
    expect(log.ofType('tool-call-failed')[0]?.reason).toBe('invalid_input');
    expect(toolResult?.output).toBe(
      'Invalid input for tool "get_weather": ' +
        [
          'city: Required property is missing',
          'days: Invalid type: expected integer, received number',
          'days: 0.5 is less than 1',
          'unit: Instance does not match any of ["c","f"]',
          'when: String does not match format "date-time"',
          'tags.1: Invalid type: expected string, received number',
          'place.lat: Required property is missing',
          'place.lon: Unrecognized property (the schema allows no such property here)',
          'extra: Unrecognized property (the schema allows no such property here)',
        ].join('; ') +
        '. Fix the input and call the tool again.',
    );
  });

  it('reads the error line of the same mistake the same way as a zod tool (field first)', async () => {
    const zodTool = defineTool({
      name: 'add',
      description: 'Adds',
      input: z.object({ a: z.number() }),
      execute: () => 0,
    });
    const jsonTool = jsonSchemaTool({
      name: 'add',
      description: 'Adds',
      inputSchema: { type: 'object', properties: { a: { type: 'number' } }, required: ['a'] },
      execute: () => 0,
    });
    const fromZod = (await callOnce(zodTool, { a: 'x' })).toolResult?.output;
    const fromJson = (await callOnce(jsonTool, { a: 'x' })).toolResult?.output;
    expect(fromZod).toMatch(/^Invalid input for tool "add": a: .*expected number, received string/);
    expect(fromJson).toBe(
      'Invalid input for tool "add": a: Invalid type: expected number, received string. Fix the input and call the tool again.',
    );
  });

  it('picks the draft from $schema: draft-07 tuple items and definitions refs work', async () => {
    const schema = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      definitions: { point: { type: 'array', items: [{ type: 'number' }, { type: 'number' }] } },
      properties: { at: { $ref: '#/definitions/point' } },
      required: ['at'],
    };
    expect(jsonSchema(schema).draft).toBe('7');
    const tool = jsonSchemaTool({
      name: 'go',
      description: 'Goes',
      inputSchema: schema,
      execute: () => 'went',
    });
    expect((await callOnce(tool, { at: [1, 2] })).toolResult?.output).toBe('went');
    expect((await callOnce(tool, { at: [1, 'x'] })).toolResult?.output).toBe(
      'Invalid input for tool "go": at.1: Invalid type: expected number, received string. Fix the input and call the tool again.',
    );
  });

  it('a schema the validator cannot apply is reported as the tool schema’s fault, not the model’s', async () => {
    const tool = jsonSchemaTool({
      name: 'broken',
      description: 'Broken',
      inputSchema: { type: 'object', properties: { a: { $ref: '#/$defs/missing' } } },
      execute: () => 'ran',
    });
    const { toolResult, result } = await callOnce(tool, { a: 1 });
    expect(result.status).toBe('completed');
    expect(toolResult?.output).toMatch(
      /^Invalid input for tool "broken": the tool's input schema cannot be applied: .*missing/,
    );
  });

  it('refuses a $schema it cannot validate, and a schema that is not an object, naming them', async () => {
    const unknownDraft = rejectionOf(() =>
      jsonSchema({ $schema: 'https://example.com/my-dialect', type: 'object' }),
    );
    await expect(unknownDraft).resolves.toBeInstanceOf(InvalidOptionError);
    expect(() => jsonSchema({ $schema: 'https://example.com/my-dialect' })).toThrow(
      /\$schema "https:\/\/example.com\/my-dialect" is not a JSON Schema draft/,
    );
    expect(() => jsonSchema(null as never)).toThrow(
      /schema must be a JSON Schema object, got null/,
    );
    const notObject = jsonSchemaTool({
      name: 'list',
      description: 'Lists',
      inputSchema: { type: 'array' },
      execute: () => [],
    });
    const model = new ScriptedModel({ turns: [{ text: 'hi' }] });
    await expect(runAgent({ model, prompt: 'hi', tools: [notObject] })).rejects.toThrow(
      /tool "list" input must be an object schema/,
    );
  });
});
