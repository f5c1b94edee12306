/** One short look at a tool: its output, with no stdin and a hard time limit, never a rejection. */
import { spawn } from 'node:child_process';

export interface ProbeResult {
  ok: boolean;
  stdout: string;
  stderr: string;
  /** Why it failed, in a few words: `exit 1`, `timed out after 5s`, the spawn error. */
  failure?: string;
}

export const PROBE_TIMEOUT_MS = 5000;

export function probe(command: string, args: string[], timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  return new Promise((resolve) => {
    // stdin ignored: a tool that asks for input (a password, a login) sees end-of-file, not a hang.
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const done = (failure?: string) => {
      clearTimeout(timer);
      resolve({ ok: failure === undefined, stdout, stderr, ...(failure ? { failure } : {}) });
    };
    child.once('error', (err) => done(err.message));
    child.once('close', (code, signal) => {
      if (timedOut) done(`timed out after ${timeoutMs / 1000}s`);
      else if (code === 0) done();
      else done(code === null ? `killed by ${signal}` : `exit ${code}`);
    });
  });
}

/** The first non-empty line, trimmed. */
export function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
}
