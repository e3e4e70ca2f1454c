import { InvalidOptionError } from '../errors';
import type { RunQuery, RunRecord } from './run-store';

/** The default and the largest page of `RunStore.list`. */
export const LIST_LIMITS = { defaultLimit: 50, maxLimit: 1_000 } as const;

/** The clock `listStale` and a status listing order by: `updatedAt`, or a later `availableAt`. */
export function stalenessClock(record: Pick<RunRecord, 'updatedAt' | 'availableAt'>): number {
  return Math.max(record.updatedAt, record.availableAt ?? 0);
}

/** Where a listing stands: the order key of the last run returned. */
export interface ListPosition {
  score: number;
  runId: string;
}

/** Encodes a position as an opaque cursor. */
export function encodeCursor(position: ListPosition): string {
  return Buffer.from(JSON.stringify([position.score, position.runId])).toString('base64url');
}

/** Decodes a cursor from `encodeCursor`; InvalidOptionError when it is not one. */
export function decodeCursor(cursor: string | undefined): ListPosition | undefined {
  if (cursor === undefined) return undefined;
  try {
    const [score, runId] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    if (typeof score === 'number' && Number.isFinite(score) && typeof runId === 'string')
      return { score, runId };
  } catch {
    // fall through to the error below
  }
  throw new InvalidOptionError(
    `cursor must be the cursor of a previous list() page, got ${JSON.stringify(cursor).slice(0, 60)}`,
  );
}

/** The page size a query asks for, checked. */
export function limitOf(query: RunQuery): number {
  const limit = query.limit ?? LIST_LIMITS.defaultLimit;
  if (!(Number.isInteger(limit) && limit > 0 && limit <= LIST_LIMITS.maxLimit)) {
    throw new InvalidOptionError(
      `limit must be an integer from 1 to ${LIST_LIMITS.maxLimit}, got ${JSON.stringify(limit)}`,
    );
  }
  return limit;
}

/** The order key of a record in a listing: its staleness clock under a status filter, else `queuedAt`. */
export function scoreOf(record: RunRecord, query: RunQuery): number {
  return query.status === undefined ? record.queuedAt : stalenessClock(record);
}

/** True when `position` comes after `cursor` in newest-first order (score, then run id, both descending). */
export function isAfter(position: ListPosition, cursor: ListPosition | undefined): boolean {
  if (!cursor) return true;
  return (
    position.score < cursor.score ||
    (position.score === cursor.score && position.runId < cursor.runId)
  );
}

/** True when the record matches the query's filters. */
export function matches(record: RunRecord, query: RunQuery): boolean {
  return (
    (query.status === undefined || record.status === query.status) &&
    (query.taskType === undefined || record.taskType === query.taskType) &&
    (query.groupId === undefined || record.groupId === query.groupId)
  );
}

/** A {@link RunQuery} checked, with its cursor decoded: what a store's `list` works from. */
export interface ParsedRunQuery {
  status?: RunQuery['status'];
  taskType?: string;
  groupId?: string;
  limit: number;
  /** The last run of the previous page; the page starts after it. */
  after?: ListPosition;
}

/**
 * Checks a query of `RunStore.list` (InvalidOptionError naming `limit` or `cursor`) and decodes
 * its cursor. For store adapters: with {@link runCursor} it gives every store the same cursors.
 */
export function parseRunQuery(query: RunQuery = {}): ParsedRunQuery {
  const after = decodeCursor(query.cursor);
  return {
    ...(query.status === undefined ? {} : { status: query.status }),
    ...(query.taskType === undefined ? {} : { taskType: query.taskType }),
    ...(query.groupId === undefined ? {} : { groupId: query.groupId }),
    limit: limitOf(query),
    ...(after ? { after } : {}),
  };
}

/** Where `record` stands in the order of `query` (its score and run id). */
export function listPosition(record: RunRecord, query: RunQuery): ListPosition {
  return { score: scoreOf(record, query), runId: record.runId };
}

/** The cursor of a page that ended at `position` (see {@link listPosition}). */
export const runCursor = encodeCursor;
