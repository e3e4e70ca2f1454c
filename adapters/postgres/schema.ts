import { InvalidOptionError } from 'loopwork';
import type { Pool } from 'pg';

/** What every Postgres adapter needs: a pool (or client) to query and the schema `migrate()` filled. */
export interface PostgresOptions {
  /** A `pg` Pool (or anything with its `query`/`connect`); the adapter never ends it. */
  pool: Pool;
  /** Schema that {@link migrate} created the tables in. @defaultValue 'loopwork' */
  schema?: string;
}

/**
 * Schema names are spliced into SQL (identifiers cannot be parameters), so only plain lower-case
 * names pass; 48 characters leave room for the `_events` / `_queue` suffixes of the NOTIFY
 * channels within Postgres's 63-byte identifier limit.
 */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;

/** The checked schema name of `options`, or an InvalidOptionError naming `schema`. */
export function schemaOf(options: { schema?: string }): string {
  const schema = options.schema ?? 'loopwork';
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw new InvalidOptionError(
      `[loopwork:postgres] schema must be a lower-case identifier (letters, digits, _; at most 48 characters, not starting with a digit), got ${JSON.stringify(schema)}`,
    );
  }
  return schema;
}

/** The quoted, schema-qualified name of a table. */
export const tableOf = (schema: string, table: string): string => `"${schema}"."${table}"`;

/** The NOTIFY channel of a schema's queue or event log. */
export const channelOf = (schema: string, what: 'queue' | 'events'): string => `${schema}_${what}`;

/** Checks that `pool` looks like a pg Pool or Client (InvalidOptionError naming `pool`). */
export function checkPool(pool: unknown): void {
  if (typeof (pool as { query?: unknown } | undefined)?.query !== 'function') {
    throw new InvalidOptionError(
      `[loopwork:postgres] pool must be a pg Pool (new Pool(...) from 'pg'), got ${pool === null ? 'null' : typeof pool}`,
    );
  }
}
