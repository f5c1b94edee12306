/**
 * Child processes and temp dirs of the throwaway stack, and the net that removes them when
 * maint exits without calling `stop()` (an uncaught error, `process.exit` from a signal handler).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, which is then closed (stdin is empty otherwise). */
  input?: string;
  /** Run as this user and group (root only: PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
  /** Then the child is killed and the run fails (default 60 s). */
  timeoutMs?: number;
  /** Aborting kills the child; the run rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** How many lines of output a failure message quotes. */
const TAIL_LINES = 15;

/** Runs a command to completion; rejects with the tail of its output when it does not exit 0. */
export function run(file: string, args: string[], opts: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(opts.signal.reason);
    const child = spawn(file, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      uid: opts.uid,
      gid: opts.gid,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => stdout.push(b));
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    child.stdin.on('error', () => {}); // EPIPE when the child exits without reading: its exit code tells.
    child.stdin.end(opts.input ?? '');
    const forget = atExit(() => child.kill('SIGKILL'));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    const onAbort = (): void => void child.kill('SIGKILL');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    /** `failure` undefined: success. */
    const settle = (failure?: { error: unknown }): void => {
      if (settled) return; // A failed spawn may report both 'error' and 'close'.
      settled = true;
      clearTimeout(timer);
      forget();
      opts.signal?.removeEventListener('abort', onAbort);
      if (failure) reject(failure.error);
      else resolve({ stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() });
    };
    child.once('error', (err) => settle({ error: new Error(`${basename(file)} could not be started: ${err.message}`) }));
    child.once('close', (code, signal) => {
      if (code === 0) return settle();
      if (opts.signal?.aborted) return settle({ error: opts.signal.reason });
      const how = timedOut ? `timed out after ${opts.timeoutMs ?? 60_000} ms` : code === null ? `killed by ${signal}` : `exit ${code}`;
      const out = tail(`${Buffer.concat(stderr).toString()}\n${Buffer.concat(stdout).toString()}`);
      // Named with its subcommand, if any: "restic init failed", "psql failed".
      const name = args[0] && !args[0].startsWith('-') ? `${basename(file)} ${args[0]}` : basename(file);
      settle({ error: new Error(`${name} failed (${how})${out ? `:\n${out}` : ''}`) });
    });
  });
}

/** The last lines of `text`, without blank ones. */
export function tail(text: string, lines = TAIL_LINES): string {
  return text.split('\n').filter((l) => l.trim() !== '').slice(-lines).join('\n');
}

/** A fresh private dir in `parent`, removed at exit unless {@link removeDir} came first. */
export function makeTempDir(prefix: string, parent = tmpdir()): string {
  const dir = mkdtempSync(join(parent, prefix));
  installExitHook();
  exitDirs.add(dir);
  return dir;
}

/** Removes a dir made by {@link makeTempDir}. Never throws. */
export function removeDir(dir: string): void {
  try {
    // Retries: a server stopped a moment ago may still be unlinking its last files.
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    exitDirs.delete(dir);
  } catch {
    // Left for the exit net to try again.
  }
}

/**
 * Runs `kill` (synchronous, best effort) if maint exits while it is registered, before the
 * temp dirs are removed. Returns the function that unregisters it.
 */
export function atExit(kill: () => void): () => void {
  installExitHook();
  exitKills.add(kill);
  return () => exitKills.delete(kill);
}

const exitKills = new Set<() => void>();
const exitDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const kill of exitKills) {
      try {
        kill();
      } catch {
        // Best effort: maint is exiting anyway.
      }
    }
    for (const dir of exitDirs) {
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // Idem.
      }
    }
  });
}
