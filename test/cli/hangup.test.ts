/**
 * A closed stdout (`maint run x | head -1`, quitting `less`) is a hang-up: the running step is
 * stopped, rollbacks and finally run, the run is recorded, the lock released, exit 129. A real
 * pipe whose reading end is destroyed early.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, maint, project } from '../helpers/cli.js';

const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1' };

const RUNBOOK = `title: Piped
steps:
  - name: first
    run: echo one
    rollback: echo undone > rolled-back
  - name: long
    run: "for i in $(seq 1 600); do echo line $i; sleep 0.1; done; echo finished > long-finished"
finally:
  - name: tidy
    run: echo tidied > finally-ran
`;

/**
 * maint with stdout on a pipe whose reader goes away after the first chunk; stderr collected, or
 * (`merged`, as `2>&1 | head`) on the same pipe.
 */
function runPipedAndCloseEarly(args: string[], cwd: string, merged = false): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = merged
      ? spawn('/bin/sh', ['-c', 'exec "$0" "$@" 2>&1', process.execPath, BIN, ...args], { cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, [BIN, ...args], { cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    // Never left behind, whatever happens.
    const guard = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stderr });
    });
  });
}

describe('a closed stdout is a hang-up', () => {
  it('stops the step, rolls back, runs finally, records the run, releases the lock, exits 129', async () => {
    const dir = project({ 'piped.yaml': RUNBOOK });
    const r = await runPipedAndCloseEarly(['run', 'piped', '--verbose'], dir);
    expect(r.code).toBe(129);
    expect(r.stderr).toMatch(/stdout was closed \(EPIPE\)/);
    expect(existsSync(join(dir, 'long-finished'))).toBe(false);
    expect(readFileSync(join(dir, 'rolled-back'), 'utf8')).toBe('undone\n');
    expect(readFileSync(join(dir, 'finally-ran'), 'utf8')).toBe('tidied\n');
    expect(readdirSync(join(dir, '.maint', 'locks'))).toEqual([]);
    const json = JSON.parse((await maint(['history', '--json'], { cwd: dir, env: ENV })).stdout) as { result: string; exit_code: number }[];
    expect(json[0]).toMatchObject({ result: 'interrupted', exit_code: 129 });
    expect(readFileSync(join(dir, 'maintenance-log.md'), 'utf8')).toMatch(/\*\*Result\*\*: interrupted/);
  });

  it('the same with the default (quiet about output) reporter: the next line maint prints finds the pipe closed', async () => {
    const dir = project({ 'piped.yaml': RUNBOOK.replace('echo one', 'echo one; sleep 0.3') });
    const r = await runPipedAndCloseEarly(['run', 'piped'], dir);
    expect(r.code).toBe(129);
    expect(existsSync(join(dir, 'rolled-back'))).toBe(true);
    expect(existsSync(join(dir, 'finally-ran'))).toBe(true);
    expect(readdirSync(join(dir, '.maint', 'locks'))).toEqual([]);
  });

  it('stdout and stderr on the same closed pipe (2>&1 | head): the same, and nothing thrown writing the notice', async () => {
    const dir = project({ 'piped.yaml': RUNBOOK });
    const r = await runPipedAndCloseEarly(['run', 'piped', '--verbose'], dir, true);
    expect(r.code).toBe(129);
    expect(existsSync(join(dir, 'long-finished'))).toBe(false);
    expect(existsSync(join(dir, 'rolled-back'))).toBe(true);
    expect(existsSync(join(dir, 'finally-ran'))).toBe(true);
    expect(readdirSync(join(dir, '.maint', 'locks'))).toEqual([]);
    expect(readFileSync(join(dir, 'maintenance-log.md'), 'utf8')).toMatch(/\*\*Result\*\*: interrupted/);
  });
});
