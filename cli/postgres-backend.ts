import { createDispatcher } from 'loopwork';
import type { Backend } from './backend';
import { importPeer } from './backend';
import { CliError, EXIT, safeUrl } from './exit';

const CONNECT_TIMEOUT_MS = 5_000;

/** Opens the Postgres adapters on `url`, in `schema` (which `migrate()` must have filled). */
export async function openPostgres(url: URL, schemaOption: string | undefined): Promise<Backend> {
  const pg = await importPeer('pg', () => import('pg'), 'postgres://');
  const adapters = await import('loopwork/postgres');
  const schema = schemaOption ?? 'loopwork';
  const pool = new pg.default.Pool({
    connectionString: url.href,
    max: 4,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  pool.on('error', () => {}); // an idle client dropped; the next query reports it
  const options = { pool, schema };
  let runs: Backend['runs'];
  try {
    runs = adapters.createPostgresRunStore(options); // checks the schema name
  } catch (error) {
    await pool.end().catch(() => {});
    throw new CliError(EXIT.usage, `--schema: ${(error as Error).message}`, { cause: error });
  }
  try {
    const { rows } = await pool.query<{ runs: string | null }>(
      'SELECT to_regclass(format($1::text, $2::text)) AS runs',
      ['%I.runs', schema],
    );
    if (!rows[0]?.runs) {
      throw new CliError(
        EXIT.unreachable,
        `schema "${schema}" at ${safeUrl(url)} has no loopwork tables: pass the --schema your workers use, or create it with migrate() from loopwork/postgres`,
      );
    }
  } catch (error) {
    await pool.end().catch(() => {});
    if (error instanceof CliError) throw error;
    throw new CliError(
      EXIT.unreachable,
      `cannot reach Postgres at ${safeUrl(url)}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const events = adapters.createPostgresEventLog(options);
  const queue = adapters.createPostgresQueue(options);
  return {
    label: safeUrl(url),
    runs,
    events,
    queue,
    dispatcher: createDispatcher({ queue, runs, events }),
    async close() {
      await queue.close();
      await pool.end();
    },
  };
}
