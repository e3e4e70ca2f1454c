import type { Usage } from '../model/usage';
import type { Redactor } from '../secrets/redact';
import type { BlobStore } from '../store/blob-store';
import type { RunRecordChanges } from '../store/run-store';
import type { OutcomeInit } from './task-handler';

/** Where and how big outputs may be kept. */
export interface OutputLimits {
  maxOutputBytes: number;
  blobs: BlobStore | undefined;
  redactor: Redactor;
}

/** An output that cannot be stored as JSON (a cycle, a BigInt): the attempt fails, not retried. */
export class OutputError extends Error {
  override name = 'OutputError';
}

const USAGE_KEYS = [
  'inputTokens',
  'outputTokens',
  'cacheReadTokens',
  'cacheWriteTokens',
  'reasoningTokens',
] as const;

const count = (value: unknown) => typeof value === 'number' && Number.isFinite(value) && value >= 0;

/** The usage a handler reported, when it is one (five non-negative counts); else nothing. */
function usageOf(value: unknown): Usage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const usage = value as Record<string, unknown>;
  return USAGE_KEYS.every((key) => count(usage[key]))
    ? (Object.fromEntries(USAGE_KEYS.map((key) => [key, usage[key]])) as unknown as Usage)
    : undefined;
}

/**
 * The record fields of a handler's result: its output as plain JSON with secrets hidden — kept on
 * the record up to `maxOutputBytes`, above that put in the blob store under
 * `runs/<runId>/output.json` (or dropped without one, the record saying so) — plus usage, cost and
 * budget when reported. Throws {@link OutputError} when the output is not JSON.
 */
export async function resultFields(
  runId: string,
  result: Pick<OutcomeInit, 'output' | 'usage' | 'costUsd' | 'budget'>,
  limits: OutputLimits,
): Promise<RunRecordChanges> {
  const fields: RunRecordChanges = {};
  const usage = usageOf(result.usage);
  if (usage) fields.usage = usage;
  if (count(result.costUsd)) fields.costUsd = result.costUsd as number;
  if (typeof result.budget === 'string') fields.budget = result.budget;
  if (result.output === undefined) return fields;
  let json: string | undefined;
  try {
    json = JSON.stringify(limits.redactor.value(result.output));
  } catch (error) {
    throw new OutputError(`the output cannot be stored as JSON (${(error as Error).message})`);
  }
  if (json === undefined) return fields; // a function or a symbol: nothing to keep
  const bytes = Buffer.byteLength(json);
  if (bytes <= limits.maxOutputBytes) {
    fields.output = JSON.parse(json);
    return fields;
  }
  if (!limits.blobs) {
    fields.outputRef = { bytes };
    return fields;
  }
  const blobKey = `runs/${runId}/output.json`;
  await limits.blobs.put(blobKey, Buffer.from(json), { contentType: 'application/json' });
  fields.outputRef = { bytes, blobKey };
  return fields;
}
