import { InvalidOptionError } from '../errors';
import { describeThrown } from '../internal/describe-thrown';
import type { StandardSchemaV1 } from './standard-schema';

/** A JSON Schema object, as a plain JSON value. */
export type JsonSchemaObject = Record<string, unknown>;

/**
 * A JSON Schema as a tool's `input`: a Standard Schema whose `validate` checks a value with
 * `@cfworker/json-schema` (loaded on first use), plus the schema itself to send to the model.
 * Make one with {@link jsonSchema}.
 */
export interface JsonSchemaInput<Input = unknown> extends StandardSchemaV1<unknown, Input> {
  /** The schema as given (with its `$schema`, which picks the draft). */
  readonly jsonSchema: JsonSchemaObject;
  /** The draft the value is validated against. */
  readonly draft: JsonSchemaDraft;
}

/** JSON Schema drafts the validator knows; draft 6 schemas are read as draft 7. */
export type JsonSchemaDraft = '4' | '7' | '2019-09' | '2020-12';

const VENDOR = 'loopwork.json-schema';

/** `$schema` URIs → draft. No `$schema` means 2020-12, the default dialect of MCP and of zod 4. */
const DRAFTS: ReadonlyArray<[RegExp, JsonSchemaDraft]> = [
  [/^https?:\/\/json-schema\.org\/draft-04\/schema#?$/, '4'],
  [/^https?:\/\/json-schema\.org\/draft-0[67]\/schema#?$/, '7'],
  [/^https?:\/\/json-schema\.org\/draft\/2019-09\/schema#?$/, '2019-09'],
  [/^https?:\/\/json-schema\.org\/draft\/2020-12\/schema#?$/, '2020-12'],
];

interface OutputUnit {
  keyword: string;
  instanceLocation: string;
  error: string;
}
interface CfValidator {
  validate(value: unknown): { valid: boolean; errors: OutputUnit[] };
}
type CfModule = {
  Validator: new (schema: object, draft: JsonSchemaDraft, shortCircuit: boolean) => CfValidator;
};

let validatorModule: Promise<CfModule> | undefined;

function loadValidatorModule(): Promise<CfModule> {
  validatorModule ??= (import('@cfworker/json-schema') as Promise<CfModule>).catch((cause) => {
    validatorModule = undefined;
    const error = new InvalidOptionError(
      'JSON Schema tool input needs the optional peer dependency @cfworker/json-schema ' +
        `(npm install @cfworker/json-schema@^4.1.6): ${describeThrown(cause)}`,
    );
    (error as Error & { cause?: unknown }).cause = cause;
    throw error;
  });
  return validatorModule;
}

function draftOf(schema: JsonSchemaObject, where: string): JsonSchemaDraft {
  const uri = schema.$schema;
  if (uri === undefined) return '2020-12';
  const found = typeof uri === 'string' && DRAFTS.find(([pattern]) => pattern.test(uri));
  if (!found) {
    throw new InvalidOptionError(
      `${where}: $schema ${JSON.stringify(uri)} is not a JSON Schema draft loopwork can validate; ` +
        'use draft-04, draft-07, 2019-09 or 2020-12 (or leave $schema out for 2020-12)',
    );
  }
  return found[1];
}

const validators = new WeakMap<JsonSchemaInput, Promise<CfValidator>>();

/**
 * Loads the validator and compiles the schema, once per input. Called when a run starts (so a
 * missing peer dependency fails the run up front, not as a tool error) and on first validation.
 */
export function compileJsonSchemaInput(input: JsonSchemaInput): Promise<CfValidator> {
  let compiled = validators.get(input);
  if (!compiled) {
    compiled = loadValidatorModule().then(
      ({ Validator }) => new Validator(input.jsonSchema, input.draft, false),
    );
    compiled.catch(() => validators.delete(input));
    validators.set(input, compiled);
  }
  return compiled;
}

/** True for an input made by {@link jsonSchema}. */
export function isJsonSchemaInput(input: unknown): input is JsonSchemaInput {
  return (
    typeof input === 'object' &&
    input !== null &&
    (input as Partial<JsonSchemaInput>)['~standard']?.vendor === VENDOR
  );
}

/**
 * Wraps a JSON Schema as a tool input, validated by `@cfworker/json-schema` (an optional peer
 * dependency, loaded on first use): drafts 4, 7, 2019-09 and 2020-12, picked by the schema's
 * `$schema` (2020-12 without one); `format` checked; no code generation, so it runs where
 * `new Function` is forbidden (CSP, edge runtimes). Validation issues name the field and what
 * was wrong, as zod's do. `$ref`s must point inside the schema.
 *
 * @example
 * ```ts
 * const input = jsonSchema<{ city: string }>({
 *   type: 'object',
 *   properties: { city: { type: 'string' } },
 *   required: ['city'],
 * });
 * ```
 */
export function jsonSchema<Input = Record<string, unknown>>(
  schema: JsonSchemaObject,
): JsonSchemaInput<Input> {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new InvalidOptionError(
      `jsonSchema: schema must be a JSON Schema object, got ${schema === null ? 'null' : typeof schema}`,
    );
  }
  const input: JsonSchemaInput<Input> = {
    jsonSchema: schema,
    draft: draftOf(schema, 'jsonSchema'),
    '~standard': {
      version: 1,
      vendor: VENDOR,
      async validate(value) {
        let validator: CfValidator;
        let result: { valid: boolean; errors: OutputUnit[] };
        try {
          validator = await compileJsonSchemaInput(input);
          result = validator.validate(value);
        } catch (error) {
          // A broken schema (an unresolvable $ref …) is the tool's fault, not the model's; say so.
          return {
            issues: [
              { message: `the tool's input schema cannot be applied: ${describeThrown(error)}` },
            ],
          };
        }
        if (result.valid) return { value: value as Input };
        return { issues: issuesOf(result.errors) };
      },
    },
  };
  return input;
}

/**
 * Keywords whose error only says that something below failed ("Property "x" does not match
 * schema"); the errors below say what, so these are dropped when there are any.
 */
const SUMMARIES = new Set([
  'properties',
  'patternProperties',
  'additionalProperties',
  'unevaluatedProperties',
  'items',
  'prefixItems',
  'additionalItems',
  'unevaluatedItems',
  'contains',
  'propertyNames',
  'dependentSchemas',
  'dependencies',
  '$ref',
  '$recursiveRef',
  'allOf',
  'if',
  'then',
  'else',
]);

/** Turns the validator's output units into zod-like issues: the field's path and what was wrong. */
function issuesOf(units: readonly OutputUnit[]): StandardSchemaV1.Issue[] {
  const specific = units.filter((unit) => !SUMMARIES.has(unit.keyword));
  const chosen = specific.length > 0 ? specific : units;
  const seen = new Set<string>();
  const issues: StandardSchemaV1.Issue[] = [];
  for (const unit of chosen) {
    const issue = issueOf(unit);
    const key = `${issue.path?.join('\u0000')}\u0001${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return issues;
}

/** A JSON Pointer segment as the validator writes it (URI-encoded, `~1` for `/`, `~0` for `~`). */
function decodePointerPart(part: string): string {
  let decoded = part;
  try {
    decoded = decodeURI(part);
  } catch {
    // not URI-encoded after all: keep it as it is
  }
  return decoded.replace(/~1/g, '/').replace(/~0/g, '~');
}

function issueOf(unit: OutputUnit): StandardSchemaV1.Issue {
  const path = unit.instanceLocation
    .replace(/^#\/?/, '')
    .split('/')
    .filter((part) => part !== '')
    .map((part) => decodePointerPart(part));
  const required = /required property "(.*)"/.exec(unit.error);
  if (unit.keyword === 'required' && required) {
    return { path: [...path, required[1] as string], message: 'Required property is missing' };
  }
  if (unit.keyword === 'false') {
    return { path, message: 'Unrecognized property (the schema allows no such property here)' };
  }
  const type = /^Instance type "(.*)" is invalid\. Expected (.*)\.$/.exec(unit.error);
  if (unit.keyword === 'type' && type) {
    return {
      path,
      message: `Invalid type: expected ${type[2]?.replace(/"/g, '')}, received ${type[1]}`,
    };
  }
  return { path, message: unit.error.replace(/\.$/, '') };
}
