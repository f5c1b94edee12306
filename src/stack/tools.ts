/**
 * Where the stack's tools are. PostgreSQL's server binaries are often not on PATH: Debian and
 * Ubuntu's `postgresql` package puts them in /usr/lib/postgresql/<major>/bin.
 */
import { readdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findOnPath } from '../exec/preflight.js';

export const PG_LIB_ROOT = '/usr/lib/postgresql';

export interface PgServerBin {
  dir: string;
  initdb: string;
  postgres: string;
}

/**
 * The PostgreSQL server binaries: the initdb on PATH (with the postgres beside its real file, as
 * initdb itself requires), else the newest /usr/lib/postgresql/<major>/bin.
 */
export function findPgServer(path = process.env.PATH ?? '', libRoot = PG_LIB_ROOT): PgServerBin | null {
  for (const dir of pgServerDirs(path, libRoot)) {
    const initdb = findOnPath(join(dir, 'initdb'));
    const postgres = findOnPath(join(dir, 'postgres'));
    if (initdb && postgres) return { dir, initdb, postgres };
  }
  return null;
}

/** A PostgreSQL client (psql, pg_dump…): the one on PATH, else the one beside the server. */
export function findPgClient(name: string, path = process.env.PATH ?? '', libRoot = PG_LIB_ROOT): string | null {
  return findOnPath(name, path) ?? pgServerDirs(path, libRoot).map((d) => findOnPath(join(d, name))).find((f) => f !== null) ?? null;
}

export interface MissingTool {
  tool: string;
  /** How to install it on Debian/Ubuntu. */
  install: string;
}

const SERVER = 'apt-get install -y postgresql';
const CLIENT = 'apt-get install -y postgresql-client';
/** Runbooks call these by name, so they must be on PATH. */
const ON_PATH: MissingTool[] = [
  { tool: 'psql', install: CLIENT },
  { tool: 'pg_dump', install: CLIENT },
  { tool: 'pg_restore', install: CLIENT },
  { tool: 'restic', install: 'apt-get install -y restic' },
  { tool: 'curl', install: 'apt-get install -y curl' },
];

/** The tools the stack (and the runbooks run against it) need and this machine lacks. */
export function missingStackTools(path = process.env.PATH ?? '', libRoot = PG_LIB_ROOT): MissingTool[] {
  const missing: MissingTool[] = [];
  if (!findPgServer(path, libRoot)) {
    const dirs = pgServerDirs(path, libRoot);
    const lacking = ['initdb', 'postgres'].filter((c) => !dirs.some((d) => findOnPath(join(d, c))));
    // Both found, never side by side: initdb would not find its postgres.
    for (const tool of lacking.length > 0 ? lacking : ['postgres']) missing.push({ tool, install: SERVER });
  }
  return [...missing, ...ON_PATH.filter((t) => !findOnPath(t.tool, path))];
}

/** Candidate server bin dirs, in order of preference. */
function pgServerDirs(path: string, libRoot: string): string[] {
  const dirs: string[] = [];
  const initdb = findOnPath('initdb', path);
  if (initdb) dirs.push(dirname(realpathOr(initdb)));
  let versions: string[] = [];
  try {
    versions = readdirSync(libRoot).filter((v) => /^\d+(\.\d+)?$/.test(v));
  } catch {
    // No Debian-style install.
  }
  versions.sort((a, b) => compareVersions(b, a));
  for (const v of versions) dirs.push(join(libRoot, v, 'bin'));
  return dirs;
}

function compareVersions(a: string, b: string): number {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  return (x[0] ?? 0) - (y[0] ?? 0) || (x[1] ?? 0) - (y[1] ?? 0);
}

function realpathOr(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}
