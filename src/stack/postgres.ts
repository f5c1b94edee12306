/**
 * A throwaway PostgreSQL cluster: initdb in a fresh temp dir, a server reachable only through a
 * unix socket in that dir, trust auth, superuser `maint`. Durability is switched off (fsync and
 * friends): the cluster lives for one test or one demo.
 *
 * PostgreSQL refuses to run as root, so under root (CI) initdb and the server run as the
 * `postgres` user (else `nobody`), owning the data and socket dirs; root's clients still connect,
 * as root passes any permission check on the socket.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { atExit, makeTempDir, removeDir, run, tail } from './process.js';
import { findPgClient, findPgServer } from './tools.js';

export const PG_SUPERUSER = 'maint';

export interface PostgresOptions {
  /** Databases to create, e.g. `['app', 'app_scratch']`. */
  databases?: readonly string[];
  /** SQL to run once the databases exist, by database name. */
  seed?: Record<string, string>;
  /** Part of the socket's name only (`.s.PGSQL.<port>`): no TCP port is opened. Default 5432. */
  port?: number;
  /** More server settings (`-c name=value`), over the defaults. */
  settings?: Record<string, string>;
  /** Where the temp dir is made (default: the system temp dir). */
  parentDir?: string;
  /** How long the server may take to accept connections (default 15 s). */
  startTimeoutMs?: number;
  /** Aborting stops the start: what was started is stopped, and the reason is thrown. */
  signal?: AbortSignal;
}

/** libpq's environment for one database of the cluster. */
export interface PgEnv {
  PGHOST: string;
  PGPORT: string;
  PGUSER: string;
  PGDATABASE: string;
  [name: string]: string;
}

export interface Postgres {
  /** The temp dir holding everything below; removed by `stop()`. */
  dir: string;
  dataDir: string;
  socketDir: string;
  port: number;
  user: string;
  /**
   * `postgresql://maint@/<db>?host=<socketDir>&port=<port>`, for psql, pg_dump, pg_restore.
   * Here and below `db` defaults to the first of `databases`, else `postgres`.
   */
  url(db?: string): string;
  env(db?: string): PgEnv;
  /** Runs `sql` with `psql -XAtq` (stops at the first error); resolves to its output without the final newline. */
  psql(sql: string, db?: string): Promise<string>;
  /** Immediate shutdown, then the temp dir is removed. Idempotent; never rejects. */
  stop(): Promise<void>;
}

/** Settings for a cluster nobody needs to survive a crash. */
const THROWAWAY_SETTINGS: Record<string, string> = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  jit: 'off',
};
const POLL_MS = 10;
/** sun_path holds 108 bytes with the final NUL on Linux (104 on macOS and the BSDs). */
const MAX_SOCKET_PATH = process.platform === 'linux' ? 107 : 103;
/**
 * SIGQUIT is what `pg_ctl stop -m immediate` sends: the postmaster stops its backends and exits,
 * usually within milliseconds. If it has not after this, SIGKILL; its backends, which lead
 * process groups of their own, notice the postmaster's death and exit.
 */
const QUIT_GRACE_MS = 5_000;

/** Starts a cluster. On failure everything started is stopped and removed, and the error quotes the server log. */
export async function startPostgres(opts: PostgresOptions = {}): Promise<Postgres> {
  if (process.platform === 'win32') throw new Error('the local PostgreSQL needs unix sockets: not available on Windows');
  const bin = findPgServer();
  if (!bin) throw new Error('initdb and postgres not found on PATH nor in /usr/lib/postgresql/*/bin: apt-get install -y postgresql');
  const port = opts.port ?? 5432;
  const databases = opts.databases ?? [];
  const owner = serverUser();

  const dir = makeTempDir('maint-pg-', opts.parentDir);
  const dataDir = join(dir, 'data');
  const socketDir = join(dir, 'socket');
  const logFile = join(dir, 'server.log');
  const url = (db = databases[0] ?? 'postgres'): string =>
    `postgresql://${PG_SUPERUSER}@/${encodeURIComponent(db)}?host=${encodeURIComponent(socketDir).replaceAll('%2F', '/')}&port=${port}`;
  const env = (db = databases[0] ?? 'postgres'): PgEnv => ({ PGHOST: socketDir, PGPORT: String(port), PGUSER: PG_SUPERUSER, PGDATABASE: db });
  const psql = async (sql: string, db?: string, signal?: AbortSignal): Promise<string> => {
    const client = findPgClient('psql');
    if (!client) throw new Error('psql not found: apt-get install -y postgresql-client');
    const args = ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url(db), '-f', '-'];
    const { stdout } = await run(client, args, { input: sql, env: { ...process.env, ...env(db) }, timeoutMs: 60_000, signal });
    return stdout.replace(/\n$/, '');
  };

  let server: Server | undefined;
  const stopServer = async (): Promise<void> => {
    await server?.stop();
    removeDir(dir);
  };
  try {
    if (`${socketDir}/.s.PGSQL.${port}`.length > MAX_SOCKET_PATH) {
      throw new Error(`the socket path under ${socketDir} is too long for a unix socket: set TMPDIR to a shorter dir`);
    }
    mkdirSync(dataDir, { mode: 0o700 });
    mkdirSync(socketDir, { mode: 0o755 });
    if (owner) {
      chmodSync(dir, 0o711); // The server user must reach its dirs; it lists nothing here.
      chownSync(dataDir, owner.uid, owner.gid);
      chownSync(socketDir, owner.uid, owner.gid);
      assertReachable(dir, owner);
    }
    const childEnv = serverEnv();
    const as = owner ? { uid: owner.uid, gid: owner.gid } : {};
    // --no-sync: nothing to make durable. TZ (in childEnv) spares initdb probing for the system's time zone.
    const initdbArgs = ['-D', dataDir, '-U', PG_SUPERUSER, '--auth=trust', '--no-sync', '-E', 'UTF8', '--no-locale'];
    await run(bin.initdb, initdbArgs, { ...as, cwd: dir, env: childEnv, timeoutMs: 60_000, signal: opts.signal });

    const settings = { ...THROWAWAY_SETTINGS, listen_addresses: '', unix_socket_directories: `"${socketDir.replaceAll('"', '""')}"`, port: String(port), ...opts.settings };
    const args = ['-D', dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
    server = spawnServer(bin.postgres, args, { ...as, cwd: dir, env: childEnv, logFile });
    await server.ready(dataDir, opts.startTimeoutMs ?? 15_000, opts.signal);

    // FILE_COPY: its checkpoints cost nothing without fsync; WAL_LOG, 15's default, takes twice as long.
    const strategy = Number(readFileSync(join(dataDir, 'PG_VERSION'), 'utf8')) >= 15 ? ' STRATEGY = FILE_COPY' : '';
    const create = databases.map((db) => `CREATE DATABASE ${quoteIdent(db)}${strategy};\n`).join('');
    if (create) await psql(create, 'postgres', opts.signal);
    for (const [db, sql] of Object.entries(opts.seed ?? {})) await psql(sql, db, opts.signal);
  } catch (err) {
    const log = readLogTail(logFile);
    await stopServer();
    if (opts.signal?.aborted) throw opts.signal.reason;
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`PostgreSQL start failed: ${message}${log ? `\nthe server log ends with:\n${log}` : ''}`, { cause: err });
  }

  let stopping: Promise<void> | undefined;
  return {
    dir, dataDir, socketDir, port, user: PG_SUPERUSER, url, env,
    psql: (sql, db) => psql(sql, db),
    stop: () => (stopping ??= stopServer().catch(() => {})),
  };
}

interface Server {
  /** Resolves once the server accepts connections; rejects if it exits or the time runs out. */
  ready(dataDir: string, timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** SIGQUIT, then SIGKILL after a grace. Resolves when it is gone. */
  stop(): Promise<void>;
}

function spawnServer(file: string, args: string[], opts: { uid?: number; gid?: number; cwd: string; env: NodeJS.ProcessEnv; logFile: string }): Server {
  const log = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    // Same process group as maint: a Ctrl-C in the terminal reaches the server too (a fast
    // shutdown), even if maint dies before stop().
    child = spawn(file, args, { uid: opts.uid, gid: opts.gid, cwd: opts.cwd, env: opts.env, stdio: ['ignore', log, log] });
  } finally {
    closeSync(log);
  }
  // Not holding maint's event loop open: if maint ends without stop(), the exit net stops the server.
  child.unref();
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = code === null ? `killed by ${signal}` : `exit ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      exit = `could not be started: ${err.message}`;
      resolve();
    });
  });
  const forget = atExit(() => child.kill('SIGQUIT'));
  void exited.then(forget);

  return {
    async ready(dataDir, timeoutMs, signal) {
      const deadline = performance.now() + timeoutMs;
      while (exit === undefined) {
        signal?.throwIfAborted();
        if (postmasterReady(dataDir, child.pid)) return;
        if (performance.now() > deadline) throw new Error(`the server did not accept connections within ${timeoutMs} ms`);
        await sleep(POLL_MS);
      }
      throw new Error(`the server ${exit.startsWith('could') ? exit : `exited while starting (${exit})`}`);
    },
    async stop() {
      if (exit !== undefined) return;
      child.kill('SIGQUIT');
      if (await within(exited, QUIT_GRACE_MS)) return;
      child.kill('SIGKILL');
      await within(exited, QUIT_GRACE_MS);
    },
  };
}

/** Whether the postmaster with this pid says it accepts connections (postmaster.pid, line 8; PostgreSQL 10+). */
function postmasterReady(dataDir: string, pid: number | undefined): boolean {
  let lines: string[];
  try {
    lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return false;
  }
  return Number(lines[0]) === pid && lines[7]?.trim() === 'ready';
}

async function within(p: Promise<void>, ms: number): Promise<boolean> {
  const ac = new AbortController();
  const done = await Promise.race([p.then(() => true), sleep(ms, false, { signal: ac.signal }).catch(() => false)]);
  ac.abort();
  return done;
}

/** Who runs initdb and the server: nobody special unless maint is root, which PostgreSQL refuses. */
function serverUser(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    // Handled below.
  }
  for (const name of ['postgres', 'nobody']) {
    const fields = passwd.split('\n').find((l) => l.startsWith(`${name}:`))?.split(':');
    const [uid, gid] = [Number(fields?.[2]), Number(fields?.[3])];
    if (fields && Number.isInteger(uid) && Number.isInteger(gid) && uid !== 0) return { name, uid, gid };
  }
  throw new Error('PostgreSQL refuses to run as root, and there is no postgres nor nobody user to run it as');
}

/** Under root the server user must be able to search every dir above `dir`: say which one it cannot. */
function assertReachable(dir: string, user: { name: string; uid: number; gid: number }): void {
  for (let d = dirname(dir); ; d = dirname(d)) {
    const st = statSync(d);
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if (!(st.mode & bit)) {
      throw new Error(`PostgreSQL runs as ${user.name} (maint is root) and cannot reach ${dir}: ${d} is not searchable by it; use a TMPDIR others can search`);
    }
    if (d === dirname(d)) return;
  }
}

/** maint's environment without libpq's variables, with a fixed time zone and locale. */
function serverEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PG')));
  return { ...env, TZ: 'UTC', LC_ALL: 'C' };
}

function readLogTail(file: string): string {
  try {
    return tail(readFileSync(file, 'utf8'));
  } catch {
    return '';
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
