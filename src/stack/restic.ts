/**
 * A throwaway restic repository in a temp dir, with a generated password. Its cache lives in the
 * same dir (RESTIC_CACHE_DIR, part of `env`), so restic run with that env writes nothing to $HOME.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { findOnPath } from '../exec/preflight.js';
import { makeTempDir, removeDir, run } from './process.js';

export interface ResticOptions {
  /** Where the temp dir is made (default: the system temp dir). */
  parentDir?: string;
  /** Aborting stops `restic init`, removes the dir and throws the reason. */
  signal?: AbortSignal;
}

export interface ResticEnv {
  RESTIC_REPOSITORY: string;
  RESTIC_PASSWORD: string;
  RESTIC_CACHE_DIR: string;
  [name: string]: string;
}

/** One entry of `restic snapshots --json`. */
export interface ResticSnapshot {
  id: string;
  short_id: string;
  time: string;
  paths: string[];
  hostname: string;
  username?: string;
  tags?: string[];
  tree: string;
  parent?: string;
}

export interface Restic {
  /** The temp dir holding the repository and the cache; removed by `stop()`. */
  dir: string;
  repository: string;
  password: string;
  env: ResticEnv;
  snapshots(): Promise<ResticSnapshot[]>;
  /** Removes the temp dir. Idempotent; never rejects. */
  stop(): Promise<void>;
}

export async function startRestic(opts: ResticOptions = {}): Promise<Restic> {
  const restic = findOnPath('restic');
  if (!restic) throw new Error('restic not found on PATH: apt-get install -y restic');
  const dir = makeTempDir('maint-restic-', opts.parentDir);
  const repository = join(dir, 'repo');
  const password = randomBytes(18).toString('base64url');
  const env: ResticEnv = { RESTIC_REPOSITORY: repository, RESTIC_PASSWORD: password, RESTIC_CACHE_DIR: join(dir, 'cache') };
  const cli = (args: string[], signal?: AbortSignal): Promise<{ stdout: string }> =>
    run(restic, [...args, '--no-cache'], { env: { ...process.env, ...env }, timeoutMs: 60_000, signal });
  try {
    await cli(['init', '--quiet'], opts.signal);
  } catch (err) {
    removeDir(dir);
    if (opts.signal?.aborted) throw opts.signal.reason;
    throw new Error(`restic repository init failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  let stopping: Promise<void> | undefined;
  return {
    dir, repository, password, env,
    // Older restic prints `null` for no snapshots.
    snapshots: async () => (JSON.parse((await cli(['snapshots', '--json'])).stdout) as ResticSnapshot[] | null) ?? [],
    stop: () => (stopping ??= Promise.resolve().then(() => removeDir(dir))),
  };
}
