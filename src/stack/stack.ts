/**
 * The local stack the shipped runbooks are tried against (real-stack tests, `maint demo`):
 * PostgreSQL with databases `app` (seeded) and `app_scratch`, a restic repository and the HTTP
 * service, started together and stopped with one `stop()`.
 */
import { startHttpService, type HttpService, type HttpServiceOptions } from './http-service.js';
import { startPostgres, type Postgres, type PostgresOptions } from './postgres.js';
import { startRestic, type Restic } from './restic.js';
import { missingStackTools, type MissingTool } from './tools.js';

export { missingStackTools, type MissingTool };

export const STACK_DATABASES: readonly string[] = ['app', 'app_scratch'];

/**
 * The seed of `app`: two related tables, rows, a secondary index, fixed values only, so a dump,
 * a restore or a checksum has something to show and gives the same result every run.
 * customers: 3 rows; orders: 100 rows (total_cents 250…25000, one per hour from 2024-01-01).
 */
export const STACK_SEED_SQL = `
CREATE TABLE customers (
  id integer PRIMARY KEY,
  name text NOT NULL,
  email text NOT NULL UNIQUE
);
CREATE TABLE orders (
  id integer PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES customers (id),
  total_cents integer NOT NULL CHECK (total_cents >= 0),
  placed_at timestamptz NOT NULL
);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
INSERT INTO customers (id, name, email) VALUES
  (1, 'Ada Lovelace', 'ada@example.com'),
  (2, 'Grace Hopper', 'grace@example.com'),
  (3, 'Edsger Dijkstra', 'edsger@example.com');
INSERT INTO orders (id, customer_id, total_cents, placed_at)
  SELECT n, n % 3 + 1, n * 250, timestamptz '2024-01-01 00:00:00+00' + n * interval '1 hour'
  FROM generate_series(1, 100) AS n;
ANALYZE;
`;

export interface StackOptions {
  /** Where the temp dirs are made (default: the system temp dir). */
  parentDir?: string;
  /** Replaces {@link STACK_SEED_SQL} as the seed of `app`. */
  seedSql?: string;
  postgres?: Pick<PostgresOptions, 'port' | 'settings' | 'startTimeoutMs'>;
  http?: HttpServiceOptions;
  /** Aborting (e.g. on Ctrl-C) stops the start; what was started is stopped, and the reason is thrown. */
  signal?: AbortSignal;
}

export interface Stack {
  postgres: Postgres;
  restic: Restic;
  http: HttpService;
  /** Stops everything and removes the temp dirs. Idempotent; never rejects (fit for a signal handler). */
  stop(): Promise<void>;
}

/** Thrown before anything starts when tools are missing; lists them with their install commands. */
export class StackToolsMissingError extends Error {
  constructor(readonly missing: MissingTool[]) {
    const byInstall = new Map<string, string[]>();
    for (const m of missing) byInstall.set(m.install, [...(byInstall.get(m.install) ?? []), m.tool]);
    const lines = [...byInstall].map(([install, tools]) => `  ${tools.join(', ')}: ${install}`);
    super(`the local stack needs tools this machine lacks (install them on Debian/Ubuntu with):\n${lines.join('\n')}`);
    this.name = 'StackToolsMissingError';
  }
}

/**
 * Starts the three together. If one fails the others are stopped (a start under way is cut short),
 * and the error says which part failed and why.
 */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const missing = missingStackTools();
  if (missing.length > 0) throw new StackToolsMissingError(missing);
  opts.signal?.throwIfAborted();
  const failFast = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, failFast.signal]) : failFast.signal;
  let failure: { part: string; error: unknown } | undefined;
  const part = <T>(name: string, start: Promise<T>): Promise<T> =>
    start.catch((error: unknown) => {
      if (!signal.aborted) {
        failure = { part: name, error };
        failFast.abort();
      }
      throw error;
    });
  const [postgres, restic, http] = await Promise.allSettled([
    part('postgres', startPostgres({
      ...opts.postgres, parentDir: opts.parentDir, databases: STACK_DATABASES, seed: { app: opts.seedSql ?? STACK_SEED_SQL }, signal,
    })),
    part('restic', startRestic({ parentDir: opts.parentDir, signal })),
    part('http', startHttpService(opts.http)),
  ]);
  if (postgres.status === 'fulfilled' && restic.status === 'fulfilled' && http.status === 'fulfilled') {
    const parts = [postgres.value, restic.value, http.value];
    let stopping: Promise<void> | undefined;
    return {
      postgres: postgres.value,
      restic: restic.value,
      http: http.value,
      stop: () => (stopping ??= Promise.allSettled(parts.map((p) => p.stop())).then(() => {})),
    };
  }
  // The parts that failed have cleaned up after themselves; stop those that started.
  await Promise.allSettled([postgres, restic, http].map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
  if (!failure) throw opts.signal?.reason ?? new Error('the local stack start was aborted');
  const message = failure.error instanceof Error ? failure.error.message : String(failure.error);
  throw new Error(`the local stack did not start (the rest was stopped): ${failure.part}: ${message}`, { cause: failure.error });
}
