/**
 * The only module in maint that spawns the processes of steps (src/stack/ starts the demo services).
 *
 * The executor receives a {@link Runner}, so its tests can inject a scripted one; this file is the
 * real implementation on top of plain `child_process.spawn` (execa measured +76 ms import and
 * ~3 ms/step against 1.7 ms here, and this is the hot path).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { BoundedCapture } from './output-capture.js';
import { setLongTimeout } from './timers.js';

/** What to run: a script through a shell, or an argv executed directly (no shell parsing). */
export type Command =
  /** `shell` = `['bash', '-c']` → `spawn('bash', ['-c', script])`. */
  | { kind: 'shell'; script: string; shell: string[] }
  /** `spawn(argv[0], argv.slice(1))`, no shell. */
  | { kind: 'argv'; argv: string[] };

/** One process to run, with its limits. */
export interface SpawnRequest {
  command: Command;
  /** The complete environment of the child (the caller merges `process.env` if it wants it). Only read. */
  env: Readonly<Record<string, string>>;
  cwd?: string;
  /** On expiry the whole process tree is terminated (see `killGraceMs`). */
  timeoutMs?: number;
  /** SIGTERM goes to the process group first; SIGKILL follows after this grace if anything survives. */
  killGraceMs: number;
  /** Aborting (maint got SIGINT/SIGTERM) terminates the tree like a timeout; already aborted → not started. */
  signal?: AbortSignal;
  /** Maximum bytes of stdout, and of stderr, kept in the result (the first ones). */
  captureLimit: number;
  /** Every decoded chunk, as it arrives (including what is beyond `captureLimit`). Must not throw. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: string) => void;
}

/** How a process ended. Process failures are reported here, never by rejecting. */
export interface SpawnResult {
  /** `null` when killed by a signal (or never started because already aborted). */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** At most `captureLimit` bytes each, cut on a UTF-8 character boundary. */
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  timedOut: boolean;
  aborted: boolean;
  /** From the call until the result, including termination and the stdio drain. */
  durationMs: number;
  /** Why the process could not be started, e.g. "command not found: kubectl" (exitCode 127; 126 otherwise). */
  spawnError?: string;
  /** Also the process group id: the child leads its own group. */
  pid?: number;
}

/** Runs one process to completion. Resolves for every outcome of the process. */
export type Runner = (req: SpawnRequest) => Promise<SpawnResult>;

/** After 'exit', how long stdio may stay open (a background process holding it) before we stop waiting. */
const DRAIN_MS = 150;
/** Polling interval while waiting for a terminated group to die. */
const POLL_MS = 20;
/** Upper bound on waiting for SIGKILLed processes to disappear (uninterruptible I/O can delay it). */
const KILL_WAIT_MS = 2_000;

/** The real {@link Runner}: `spawn` with the child in its own process group. */
export const spawnRunner: Runner = async (req) => {
  const started = performance.now();
  const result = (r: Partial<SpawnResult>): SpawnResult => ({
    exitCode: null, signal: null, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false,
    timedOut: false, aborted: false, ...r, durationMs: performance.now() - started,
  });
  if (req.signal?.aborted) return result({ aborted: true });

  const [file, ...args] = req.command.kind === 'shell' ? [...req.command.shell, req.command.script] : req.command.argv;
  if (file === undefined) return result({ exitCode: 127, spawnError: 'empty command' });
  let child: ChildProcess;
  try {
    // detached: own process group (pgid = pid), so one kill(-pid) reaches grandchildren too.
    // stdin ignored: a step must never read maint's terminal.
    child = spawn(file, args, { cwd: req.cwd, env: req.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    return result(spawnFailure(err, file, req.cwd)); // invalid arguments, e.g. a NUL byte in the script
  }
  const pid = child.pid;
  if (pid === undefined) {
    const [err] = (await once(child, 'error')) as [unknown];
    return result(spawnFailure(err, file, req.cwd));
  }

  running.add(pid);
  // With stdio 'pipe' these are net.Sockets (typed as Readable), which can be unref'd.
  const [stdout, stderr] = [child.stdout as Socket, child.stderr as Socket];
  const out = capture(stdout, 'stdout', req);
  const err = capture(stderr, 'stderr', req);
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('exit', (code, signal) => resolve([code, signal])),
  );

  let timedOut = false;
  let aborted = false;
  let killing: Promise<void> | undefined;
  const terminate = (): void => {
    killing ??= killGroup(pid, req.killGraceMs);
  };
  const onTimeout = (): void => {
    timedOut = true;
    terminate();
  };
  const onAbort = (): void => {
    aborted = true;
    terminate();
  };
  // A long timeout waits in chunks: setTimeout would turn one past 2^31-1 ms into 1 ms.
  const cancelTimer = req.timeoutMs === undefined ? undefined : setLongTimeout(onTimeout, req.timeoutMs);
  const stopListening = req.signal && whenAborted(req.signal, onAbort);

  try {
    const [exitCode, signal] = await exited;
    cancelTimer?.();
    stopListening?.();
    // Once terminating, report only when no process of the step is left. Otherwise whatever is
    // left in the group is a daemon the step started on purpose: no longer ours to kill on exit.
    if (killing) await killing;
    else running.delete(pid);
    if (!(await settlesWithin(closed, DRAIN_MS))) {
      // A background process still holds the pipes (`daemon &`). It is not ours to kill, and
      // destroying our read end would SIGPIPE it on its next write (a `kubectl port-forward &`
      // logging a connection), so keep discarding its output, unref'd so maint can still exit.
      stdout.unref();
      stderr.unref();
    }
    return result({
      exitCode, signal, timedOut, aborted, pid,
      stdout: out.detach(), stderr: err.detach(),
      stdoutTruncated: out.truncated(), stderrTruncated: err.truncated(),
    });
  } finally {
    running.delete(pid);
  }
};

/**
 * Streams one output pipe to `onOutput` and into a bounded capture, until `detach()`.
 *
 * Node keeps a pipe's handle, and so the socket and its listeners, alive past its close until a
 * full GC; a listener holding the step (its request, env, output sinks) would be copied into the
 * old generation with it on every step, and the heap every later fork copies would grow.
 */
function capture(stream: Readable, name: 'stdout' | 'stderr', req: SpawnRequest) {
  const kept = new BoundedCapture(req.captureLimit);
  const decoder = new StringDecoder('utf8'); // holds a character split across chunks until it completes
  let onOutput = req.onOutput;
  const onData = (chunk: Buffer): void => {
    kept.push(chunk);
    const text = onOutput && decoder.write(chunk);
    if (text) onOutput?.(name, text);
  };
  stream.on('data', onData);
  stream.on('error', ignore); // a read error just ends the output; the exit status still counts
  return {
    /** The captured text; later output (a background process still holding the pipe) is dropped. */
    detach(): string {
      stream.off('data', onData);
      stream.resume(); // keep reading, and discarding, so such a process never blocks on a full pipe
      const rest = onOutput && decoder.end();
      if (rest) onOutput?.(name, rest);
      onOutput = undefined;
      return kept.text();
    },
    truncated: () => kept.truncated,
  };
}

function ignore(): void {}

/**
 * Calls `fn` when `signal` aborts; returns how to stop. One 'abort' listener per signal, shared by
 * every step that waits on it: an EventTarget listener added and removed for each step showed in
 * CPU profiles of long runbooks.
 */
function whenAborted(signal: AbortSignal, fn: () => void): () => void {
  let waiting = abortWaiters.get(signal);
  if (!waiting) {
    const set = new Set<() => void>();
    signal.addEventListener('abort', () => set.forEach((f) => f()), { once: true });
    abortWaiters.set(signal, (waiting = set));
  }
  waiting.add(fn);
  return () => waiting.delete(fn);
}
const abortWaiters = new WeakMap<AbortSignal, Set<() => void>>();

/** SIGTERM the group, give it `graceMs`, then SIGKILL whatever is left and wait for it to go. */
async function killGroup(pgid: number, graceMs: number): Promise<void> {
  signalGroup(pgid, 'SIGTERM');
  if (await groupGoneWithin(pgid, graceMs)) return;
  signalGroup(pgid, 'SIGKILL');
  await groupGoneWithin(pgid, KILL_WAIT_MS);
}

async function groupGoneWithin(pgid: number, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (groupAlive(pgid)) {
    if (performance.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nothing left in the group.
  }
}

/** True while the group has a member that is not a zombie. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  // kill(-pgid, 0) also counts zombies, and orphaned ones are never reaped where PID 1 is not an
  // init (containers without --init, or maint itself as PID 1). They are dead: look past them.
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return true; // no usable /proc: trust kill()
  }
  return pids.some((p) => {
    const stat = readProcStat(p);
    if (stat === undefined) return false; // exited meanwhile
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // comm may contain ") "
    return Number(pgrp) === pgid && state !== 'Z';
  });
}

function readProcStat(pid: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Whether `p` settles within `ms`, without leaving a timer behind when it does. */
function settlesWithin(p: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms, false);
    void p.then(() => (clearTimeout(timer), resolve(true)));
  });
}

/** Maps a spawn failure to the shell's conventions: 127 not found, 126 found but not executable. */
function spawnFailure(err: unknown, file: string, cwd: string | undefined): Partial<SpawnResult> {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') {
    // A missing cwd is reported by spawn as ENOENT for the command, which misleads.
    if (cwd !== undefined && !existsSync(cwd)) return { exitCode: 127, spawnError: `working directory not found: ${cwd}` };
    return { exitCode: 127, spawnError: `command not found: ${file}` };
  }
  if (e.code === 'EACCES') return { exitCode: 126, spawnError: `permission denied: ${file}` };
  return { exitCode: 126, spawnError: `cannot run ${file}: ${e.message ?? String(err)}` };
}

/**
 * Groups of steps still running. If maint exits without waiting for them (crash, process.exit),
 * they are killed: detached, they would otherwise outlive it unnoticed. Groups whose leader has
 * exited are not in here, so daemons a step started on purpose survive.
 */
const running = new Set<number>();
process.on('exit', () => {
  for (const pgid of running) signalGroup(pgid, 'SIGKILL');
});
