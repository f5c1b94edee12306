/**
 * Runs the built CLI (bin/maint.js → dist/) as a user would: a real process, in a temp project
 * folder, without a terminal and with stdin closed unless a test says otherwise.
 *
 * The child's environment is built from an allowlist, never from the whole test environment: a
 * CI runner's GITHUB_ACTIONS, CI, DATABASE_URL, RESTIC_* or KUBECONFIG must not change what a test
 * sees. A test passes every other variable it relies on in `env`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'bin/maint.js');

/** What a child inherits from the test process: enough to find programs, a home, temp space and a locale. */
export const INHERITED = ['PATH', 'HOME', 'TMPDIR', 'LANG'] as const;

/** The exit code of an internal error (a bug in maint, never a user mistake). */
export const EXIT_INTERNAL = 70;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliOptions {
  cwd: string;
  /** Variables on top of the allowlist (INHERITED and NO_COLOR=1); `undefined` removes one. */
  env?: Record<string, string | undefined>;
  /** 'ignore' (default: no stdin at all), or 'pipe' to hold a stdin open that is never written. */
  stdin?: 'ignore' | 'pipe';
  onSpawn?: (child: ChildProcess) => void;
  /**
   * The test expects an internal error (exit 70, `maint: internal error`). Without it, either one
   * rejects the result, so no test can pass over a crash by forgetting to look.
   */
  expectInternalError?: boolean;
}

/**
 * The environment of a child process: the allowlisted variables of this process, NO_COLOR=1, then
 * `extra` (where `undefined` deletes a variable).
 */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = { NO_COLOR: '1' };
  for (const name of INHERITED) env[name] = process.env[name];
  Object.assign(env, extra);
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return env as NodeJS.ProcessEnv;
}

/**
 * Throws when a finished maint reported an internal error the test did not ask for. `what` names
 * the command in the message; `output` is everything it printed.
 */
export function assertNoInternalError(what: string, code: number | null, output: string, expected = false): void {
  if (expected) return;
  const crashed = code === EXIT_INTERNAL || /^maint: internal error/m.test(output);
  if (crashed) throw new Error(`maint ${what} crashed (exit ${code}); pass expectInternalError: true if the test means it:\n${output}`);
}

export function maint(args: string[], opts: CliOptions): Promise<CliResult> {
  const t0 = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: childEnv(opts.env), stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    opts.onSpawn?.(child);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      try {
        assertNoInternalError(args.join(' '), code, `${stderr}\n${stdout}`, opts.expectInternalError);
      } catch (err) {
        reject(err);
        return;
      }
      resolvePromise({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** A throwaway project folder: bare names go into `runbooks/`, paths (`./maint.config.yaml`) are taken as they are. */
export function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'maint-test-'));
  for (const [name, text] of Object.entries(files)) {
    const file = join(dir, name.includes('/') ? name : join('runbooks', name));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  mkdirSync(join(dir, 'runbooks'), { recursive: true });
  return dir;
}

/** Lines of output without timestamps, for order assertions. */
export function lines(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/^\d\d:\d\d:\d\d /, '')).filter(Boolean);
}

/** An `onSpawn` that sends `signal` to maint once a step has written `file` (so it is mid-step). */
export function signalWhenFileAppears(file: string, signal: NodeJS.Signals): (child: ChildProcess) => void {
  return (child) => {
    const poll = setInterval(() => {
      if (existsSync(file)) {
        clearInterval(poll);
        child.kill(signal);
      }
    }, 50);
    child.on('close', () => clearInterval(poll));
  };
}
