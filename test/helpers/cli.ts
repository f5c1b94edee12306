/**
 * Runs the built CLI (bin/maint.js → dist/) as a user would: a real process, in a temp project
 * folder, without a terminal and with stdin closed unless a test says otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'bin/maint.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  /** 'ignore' (default: no stdin at all), or 'pipe' to hold a stdin open that is never written. */
  stdin?: 'ignore' | 'pipe';
  onSpawn?: (child: ChildProcess) => void;
}

export function maint(args: string[], opts: CliOptions): Promise<CliResult> {
  const t0 = Date.now();
  return new Promise((resolvePromise) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, ...opts.env };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: env as NodeJS.ProcessEnv, stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    opts.onSpawn?.(child);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr, ms: Date.now() - t0 }));
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
