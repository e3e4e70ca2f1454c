import { InvalidOptionError } from 'loopwork';
import { createPostgresQueue, migrate, SCHEMA_VERSION } from 'loopwork/postgres';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshSchema } from '../../helpers/postgres';

let pool: pg.Pool;
let schema: string;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ pool, schema, drop } = await freshSchema());
});
afterAll(() => drop());

const schemaExists = async (name: string) =>
  (await pool.query('select 1 from information_schema.schemata where schema_name = $1', [name]))
    .rowCount === 1;

describe('migrate', () => {
  it('creates nothing until called: building an adapter touches no table', async () => {
    const queue = createPostgresQueue({ pool, schema });
    expect(await schemaExists(schema)).toBe(false);
    await queue.close();
  });

  it('applies every version once, recording each in the migrations table', async () => {
    expect(await migrate({ pool, schema })).toEqual({
      from: 0,
      to: SCHEMA_VERSION,
      applied: Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
    });
    const { rows } = await pool.query(`select version from "${schema}".migrations order by 1`);
    expect(rows.map((row) => row.version)).toEqual([1]);
  });

  it('is idempotent, also when called concurrently', async () => {
    const results = await Promise.all([1, 2, 3].map(() => migrate({ pool, schema })));
    for (const result of results) {
      expect(result).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
    }
    const fresh = `${schema}_b`;
    try {
      const racing = await Promise.all([1, 2, 3].map(() => migrate({ pool, schema: fresh })));
      expect(racing.filter((result) => result.applied.length > 0)).toHaveLength(1);
    } finally {
      await pool.query(`drop schema if exists "${fresh}" cascade`);
    }
  });

  it.each([
    ['upper case', 'Loopwork'],
    ['a quote', 'a"b'],
    ['a dot', 'public.x'],
    ['a leading digit', '1abc'],
    ['the empty string', ''],
    ['more than 48 characters', 'x'.repeat(49)],
  ])('refuses a schema name with %s, naming the option', async (_, name) => {
    const error = await migrate({ pool, schema: name }).catch((thrown: unknown) => thrown);
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/^\[loopwork:postgres\] schema must be/);
    expect(() => createPostgresQueue({ pool, schema: name })).toThrow(/schema must be/);
  });

  it('refuses a missing pool, naming the option', async () => {
    const error = await migrate({ pool: undefined as never }).catch((thrown: unknown) => thrown);
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/pool must be a pg Pool/);
  });
});
