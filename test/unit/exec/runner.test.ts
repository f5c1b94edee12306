import { spawn } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoundedCapture, utf8SafeEnd } from '../../../src/exec/output-capture.js';
import { spawnRunner, type SpawnRequest, type SpawnResult } from '../../../src/exec/runner.js';

const ENV = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
let dir: string;
/** Process groups deliberately left running by a test (background daemons), killed at the end. */
const leftovers: number[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'maint-runner-'));
});
afterAll(() => {
  for (const pgid of leftovers) killQuietly(-pgid);
  rmSync(dir, { recursive: true, force: true });
});

function bash(script: string, req: Partial<SpawnRequest> = {}): Promise<SpawnResult> {
  return spawnRunner({
    command: { kind: 'shell', script, shell: ['bash', '-c'] },
    env: ENV,
    killGraceMs: 100,
    captureLimit: 1 << 20,
    ...req,
  });
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Whether `pid` is a live process. kill(pid, 0) throwing ESRCH is the strict answer; a zombie also
 * counts as dead, because where PID 1 does not reap orphans (this sandbox's PID 1 does not, nor
 * does a container without --init) a killed grandchild stays a zombie forever.
 */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false; // gone between the two checks
  }
}

function readPids(file: string): number[] {
  return readFileSync(file, 'utf8').trim().split('\n').map(Number);
}

describe('spawnRunner: running commands', () => {
  it('runs argv without a shell: no word splitting, no expansion', async () => {
    const r = await spawnRunner({
      command: { kind: 'argv', argv: ['printf', '%s|', 'a b', '$HOME', '*'] },
      env: ENV,
      killGraceMs: 100,
      captureLimit: 1024,
    });
    expect(r).toMatchObject({ exitCode: 0, signal: null, stdout: 'a b|$HOME|*|', stderr: '', timedOut: false, aborted: false });
    expect(r.pid).toBeTypeOf('number');
    expect(r.spawnError).toBeUndefined();
  });

  it('runs a script through the given shell and captures stdout and stderr separately', async () => {
    const r = await spawnRunner({
      command: { kind: 'shell', script: 'echo "out $0"; echo err >&2', shell: ['sh', '-c'] },
      env: ENV,
      killGraceMs: 100,
      captureLimit: 1024,
    });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'out sh\n', stderr: 'err\n', stdoutTruncated: false, stderrTruncated: false });
  });

  it('propagates exit codes and deaths by signal', async () => {
    expect(await bash('exit 3')).toMatchObject({ exitCode: 3, signal: null });
    expect(await bash('kill -USR1 $$')).toMatchObject({ exitCode: null, signal: 'SIGUSR1', timedOut: false, aborted: false });
  });

  it('gives the child exactly the env it is handed, nothing inherited', async () => {
    process.env.MAINT_RUNNER_LEAK = 'leaked';
    try {
      const r = await bash('echo "$FOO|${MAINT_RUNNER_LEAK-unset}"', { env: { ...ENV, FOO: 'bar baz' } });
      expect(r.stdout).toBe('bar baz|unset\n');
    } finally {
      delete process.env.MAINT_RUNNER_LEAK;
    }
  });

  it('honours cwd', async () => {
    const r = await bash('pwd -P', { cwd: dir });
    expect(r.stdout).toBe(`${realpathSync(dir)}\n`);
  });

  it('never lets a step read the terminal: stdin is /dev/null', async () => {
    const r = await bash('if read -r line; then echo "read: $line"; else echo eof; fi');
    expect(r.stdout).toBe('eof\n');
  });
});

describe('spawnRunner: spawn failures resolve, never reject', () => {
  const argv = (args: string[], cwd?: string) =>
    spawnRunner({ command: { kind: 'argv', argv: args }, env: ENV, cwd, killGraceMs: 100, captureLimit: 1024 });

  it('ENOENT → exit 127 with "command not found"', async () => {
    const r = await argv(['maint-no-such-command-xyz', '--help']);
    expect(r).toMatchObject({ exitCode: 127, signal: null, spawnError: 'command not found: maint-no-such-command-xyz', stdout: '' });
    expect(r.pid).toBeUndefined();
  });

  it('EACCES → exit 126 with "permission denied"', async () => {
    const file = join(dir, 'not-executable.sh');
    writeFileSync(file, '#!/bin/sh\necho hi\n');
    chmodSync(file, 0o644);
    expect(await argv([file])).toMatchObject({ exitCode: 126, spawnError: `permission denied: ${file}` });
  });

  it('a missing cwd is named as such, not as a missing command', async () => {
    const cwd = join(dir, 'does-not-exist');
    expect(await argv(['true'], cwd)).toMatchObject({ exitCode: 127, spawnError: `working directory not found: ${cwd}` });
  });

  it('an empty argv is a spawn error', async () => {
    expect(await argv([])).toMatchObject({ exitCode: 127, spawnError: 'empty command' });
  });
});

describe('spawnRunner: timeout and abort terminate the whole tree', () => {
  it('times out: TERM to the group, reported as timedOut with the signal', async () => {
    const r = await bash('sleep 30', { timeoutMs: 100 });
    expect(r).toMatchObject({ timedOut: true, aborted: false, exitCode: null, signal: 'SIGTERM' });
    expect(r.durationMs).toBeGreaterThanOrEqual(95);
    expect(r.durationMs).toBeLessThan(2000);
  });

  it('a timeout longer than setTimeout can hold does not fire at once', async () => {
    const r = await bash('sleep 0.2', { timeoutMs: 2 ** 31 + 1 });
    expect(r).toMatchObject({ timedOut: false, exitCode: 0 });
  });

  it('leaves no process alive: background grandchild and a TERM-ignoring child are KILLed after the grace', async () => {
    const pids = join(dir, 'tree.pids');
    // Leader, a background `sleep 300 &`, and a child that ignores TERM (so does its own sleep,
    // SIG_IGN is inherited), which only SIGKILL to the group can end.
    const script = `
      echo $$ >> "$PIDS"
      sleep 300 & echo $! >> "$PIDS"
      bash -c 'trap "" TERM; echo $$ >> "$PIDS"; sleep 300 & echo $! >> "$PIDS"; echo ready; wait'
    `;
    let aliveAtReady: boolean[] = [];
    const r = await bash(script, {
      env: { ...ENV, PIDS: pids },
      timeoutMs: 400,
      killGraceMs: 200,
      onOutput: (_stream, chunk) => {
        if (chunk.includes('ready')) aliveAtReady = readPids(pids).map(isRunning);
      },
    });
    const all = readPids(pids);
    expect(all).toHaveLength(4);
    expect(all[0]).toBe(r.pid);
    expect(aliveAtReady).toEqual([true, true, true, true]); // the pids were real, live processes
    expect(r).toMatchObject({ timedOut: true, exitCode: null, signal: 'SIGTERM', stdout: 'ready\n' });
    expect(all.map(isRunning)).toEqual([false, false, false, false]);
    // TERM alone was not enough, so the KILL came after the grace.
    expect(r.durationMs).toBeGreaterThanOrEqual(400 + 200 - 5);
    expect(r.durationMs).toBeLessThan(3000);
  });

  it('does not wait for the grace when TERM is enough', async () => {
    const r = await bash('sleep 300 & sleep 300', { timeoutMs: 100, killGraceMs: 5000 });
    expect(r.timedOut).toBe(true);
    expect(r.durationMs).toBeLessThan(1000);
  });

  it('abort terminates like a timeout and is reported as aborted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const r = await bash('sleep 30', { signal: ac.signal, timeoutMs: 10_000 });
    expect(r).toMatchObject({ aborted: true, timedOut: false, exitCode: null, signal: 'SIGTERM' });
    expect(r.durationMs).toBeLessThan(2000);
  });

  it('steps sharing a signal share one abort listener, and an abort still reaches each of them', async () => {
    const ac = new AbortController();
    const runs = [1, 2, 3].map(() => bash('sleep 30', { signal: ac.signal, timeoutMs: 10_000 }));
    await sleep(100);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    ac.abort();
    for (const r of await Promise.all(runs)) expect(r).toMatchObject({ aborted: true, signal: 'SIGTERM' });
    await bash('true', { signal: ac.signal }); // an aborted signal: not started, nothing added
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('does not start at all when the signal is already aborted', async () => {
    const marker = join(dir, 'should-not-exist');
    const chunks: string[] = [];
    const r = await bash(`touch "${marker}"; echo started`, {
      signal: AbortSignal.abort(),
      onOutput: (_s, c) => chunks.push(c),
    });
    expect(r).toMatchObject({ aborted: true, timedOut: false, exitCode: null, signal: null, stdout: '' });
    expect(r.pid).toBeUndefined();
    expect(chunks).toEqual([]);
    await sleep(50);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('spawnRunner: a background process holding the pipes', () => {
  it('does not hang the runner, and is not killed on a normal exit', async () => {
    const pidFile = join(dir, 'bg.pid');
    const r = await bash(`sleep 30 & echo $! > "${pidFile}"; echo hi`);
    leftovers.push(r.pid ?? 0);
    expect(r).toMatchObject({ exitCode: 0, signal: null, stdout: 'hi\n', timedOut: false });
    expect(r.durationMs).toBeLessThan(1000);
    expect(isRunning(Number(readFileSync(pidFile, 'utf8')))).toBe(true);
  });

  it('keeps draining its pipe, so its later writes do not SIGPIPE it (e.g. `kubectl port-forward &`)', async () => {
    const alive = join(dir, 'bg.alive');
    const seen: string[] = [];
    const r = await bash(`(sleep 0.4; echo tick; echo tock >&2; echo survived > "${alive}") & echo hi`, {
      onOutput: (_s, c) => seen.push(c),
    });
    leftovers.push(r.pid ?? 0);
    expect(r.stdout).toBe('hi\n');
    await sleep(800);
    expect(readFileSync(alive, 'utf8')).toBe('survived\n');
    expect(r.stdout).toBe('hi\n'); // output after completion is discarded, not appended
    expect(seen.join('')).toBe('hi\n'); // nor streamed: the step is over
  });
});

describe('spawnRunner: output', () => {
  it('streams chunks as they arrive, decoding a character split across writes', async () => {
    const seen: Array<[string, string, number]> = [];
    const t0 = performance.now();
    // '€' is E2 82 AC; the two writes arrive as separate chunks.
    const r = await bash(`printf 'a\\xe2\\x82'; sleep 0.2; printf '\\xac\\n'; printf 'e\\n' >&2`, {
      onOutput: (stream, chunk) => seen.push([stream, chunk, performance.now() - t0]),
    });
    expect(r.stdout).toBe('a€\n');
    expect(r.stderr).toBe('e\n');
    const stdoutChunks = seen.filter(([s]) => s === 'stdout').map(([, c]) => c);
    expect(stdoutChunks).toEqual(['a', '€\n']);
    expect(seen.some(([, c]) => c.includes('\uFFFD'))).toBe(false);
    // The first chunk was delivered before the step finished, not at the end.
    expect(seen[0]?.[2]).toBeLessThan(r.durationMs - 150);
  });

  it('keeps only captureLimit bytes, cut on a character boundary, while onOutput still sees everything', async () => {
    const seen: string[] = [];
    const r = await bash(`printf 'aa€€'; printf 'bbbbbb' >&2`, { captureLimit: 4, onOutput: (_s, c) => seen.push(c) });
    expect(r).toMatchObject({ stdout: 'aa', stdoutTruncated: true, stderr: 'bbbb', stderrTruncated: true });
    expect(seen.join('')).toContain('aa€€');
    const exact = await bash(`printf 'aa€'`, { captureLimit: 5 });
    expect(exact).toMatchObject({ stdout: 'aa€', stdoutTruncated: false });
  });

  it('a 200 MB step does not grow memory: rss growth stays far below the output size', async () => {
    const limit = 1 << 20;
    const before = process.memoryUsage().rss;
    let peak = before;
    let chars = 0;
    let chunks = 0;
    const r = await bash(`head -c 200000000 /dev/zero | tr '\\0' 'a'`, {
      captureLimit: limit,
      onOutput: (_s, c) => {
        chars += c.length;
        if (++chunks % 32 === 0) peak = Math.max(peak, process.memoryUsage().rss);
      },
    });
    peak = Math.max(peak, process.memoryUsage().rss);
    const growthMb = (peak - before) / 2 ** 20;
    console.log(`200 MB step: rss growth ${growthMb.toFixed(1)} MB (peak), ${chunks} chunks, ${r.durationMs.toFixed(0)} ms`);
    expect(r.exitCode).toBe(0);
    expect(chars).toBe(200_000_000);
    expect(r.stdout.length).toBeLessThanOrEqual(limit);
    expect(r.stdout.length).toBe(limit);
    expect(r.stdoutTruncated).toBe(true);
    expect(growthMb).toBeLessThan(100);
  });
});

describe('BoundedCapture', () => {
  it('keeps the first bytes across chunks and flags truncation only when bytes were dropped', () => {
    const c = new BoundedCapture(5);
    c.push(Buffer.from('abc'));
    c.push(Buffer.from('de'));
    expect([c.text(), c.truncated]).toEqual(['abcde', false]);
    c.push(Buffer.from('f'));
    expect([c.text(), c.truncated]).toEqual(['abcde', true]);
  });

  it('a zero or invalid limit keeps nothing', () => {
    for (const limit of [0, -1, Number.NaN]) {
      const c = new BoundedCapture(limit);
      c.push(Buffer.from('x'));
      expect([c.text(), c.truncated]).toEqual(['', true]);
    }
  });

  it('never cuts a multi-byte character in half', () => {
    const text = 'a😀b'; // 1 + 4 + 1 bytes
    const bytes = Buffer.from(text);
    const expected = ['', 'a', 'a', 'a', 'a', 'a😀', 'a😀b'];
    for (let limit = 0; limit <= bytes.length; limit++) {
      const c = new BoundedCapture(limit);
      for (const byte of bytes) c.push(Buffer.from([byte])); // worst case: one byte per chunk
      expect(c.text()).toBe(expected[limit]);
    }
  });

  it('utf8SafeEnd leaves complete and ASCII endings alone', () => {
    expect(utf8SafeEnd(Buffer.from('ab'))).toBe(2);
    expect(utf8SafeEnd(Buffer.from('a€'))).toBe(4);
    expect(utf8SafeEnd(Buffer.from('a€').subarray(0, 3))).toBe(1);
    expect(utf8SafeEnd(Buffer.alloc(0))).toBe(0);
  });
});

/**
 * Behaviour of maint as a process: run the runner in a fresh Node (transpiled on the fly, since
 * plain Node 20 cannot load .ts), because only a real process shows whether its event loop ends.
 */
describe('spawnRunner inside a real maint process', () => {
  beforeAll(() => {
    for (const name of ['runner', 'output-capture', 'timers']) {
      const source = readFileSync(new URL(`../../../src/exec/${name}.ts`, import.meta.url), 'utf8');
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      });
      writeFileSync(join(dir, `${name}.mjs`), outputText.replaceAll("'./output-capture.js'", "'./output-capture.mjs'").replaceAll("'./timers.js'", "'./timers.mjs'"));
    }
  });

  function runNode(code: string): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // Resolve on 'exit', not 'close': the step's leftover `sleep` inherits and holds these pipes.
    return new Promise((resolve) =>
      child.on('exit', (code) => setTimeout(() => resolve({ code, stdout, stderr, ms: performance.now() - t0 }), 50)),
    );
  }

  const prelude = (): string => `import { spawnRunner } from ${JSON.stringify(join(dir, 'runner.mjs'))};
    const bash = (script, extra = {}) => spawnRunner({ command: { kind: 'shell', script, shell: ['bash', '-c'] },
      env: { PATH: process.env.PATH }, killGraceMs: 100, captureLimit: 1024, ...extra });`;

  it('a leftover background process does not keep maint alive after the step', async () => {
    const r = await runNode(`${prelude()}
      const r = await bash('sleep 30 & echo hi');
      console.log(JSON.stringify(r));`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as SpawnResult;
    leftovers.push(result.pid ?? 0);
    expect(result.stdout).toBe('hi\n');
    expect(r.ms).toBeLessThan(3000); // not 30 s
  });

  it('if maint dies mid-step (uncaught exception), the running step tree is killed', async () => {
    const pids = join(dir, 'crash.pids');
    const r = await runNode(`${prelude()}
      void bash('echo $$ >> "$PIDS"; sleep 300 & echo $! >> "$PIDS"; trap "" TERM; exec sleep 300', { env: { PATH: process.env.PATH, PIDS: ${JSON.stringify(pids)} } });
      setTimeout(() => { throw new Error('maint crashed'); }, 300);`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('maint crashed');
    await sleep(100);
    const all = readPids(pids);
    expect(all).toHaveLength(2);
    expect(all.map(isRunning)).toEqual([false, false]);
  });
});
