/**
 * The run journal: one folder per run under the state dir, written as the run goes, so that a
 * run that dies is never lost.
 *
 *   <state>/runs/<run-id>/run.json       who, what, how it ended (rewritten atomically)
 *   <state>/runs/<run-id>/events.ndjson  every event but output chunks, appended as it happens
 *   <state>/runs/<run-id>/steps/<id>.log each step's full (masked) output, capped
 *   <state>/running/<run-id>              present while the run has not ended, so crash recovery
 *                                         looks at these instead of reading every run ever made
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MaintError } from '../cli/errors.js';
import type { RunEvent, RunStatus } from '../exec/events.js';
import { ensureDir, explainErrno, PathError } from '../fs/ensure-dir.js';
import type { DrResult } from './dr.js';
import { runMetaProblem } from './run-meta-shape.js';
import type { RunVia } from './types.js';

/** What run.json holds. */
export interface RunMetaFile {
  runId: string;
  runbook: string;
  title: string;
  /** The runbook file that ran. */
  file: string;
  cwd: string;
  pid: number;
  host: string;
  by: string;
  via: RunVia;
  ciUrl?: string;
  startedAt: number;
  /**
   * `running` until the run ends; then how it ended. `refused`: stopped before its first step
   * (invalid input, outside the window, locked); `crashed`: an internal error in maint ended it.
   */
  status: 'running' | RunStatus | 'refused' | 'crashed';
  /** Why a refused or crashed run ended (masked). */
  reason?: string;
  exitCode?: number;
  durationMs?: number;
  pausedAt?: string;
  resumedFrom?: string;
  /** The run that resumed this one: a run is resumed once. */
  resumedBy?: string;
  /** Set when a later maint command found this run orphaned and closed it. */
  recovered?: boolean;
  /** A runbook with `objectives`: what the run measured (for `maint history --dr`). */
  dr?: DrResult;
  /** The flags needed to resume: non-secret --var values, --vars-file, the maintenance log. */
  flags: { var: string[]; varsFile?: string; log: string };
}

export const DEFAULT_OUTPUT_CAP = 64 * 1024 * 1024;

export function runsDir(stateDir: string): string {
  return join(stateDir, 'runs');
}

/** Runbook parses kept between runs (runbook/parse-cache.ts). */
export function cacheDir(stateDir: string): string {
  return join(stateDir, 'cache');
}

/** Markers of the runs that have not ended (or whose maint died before they could). */
export function runningDir(stateDir: string): string {
  return join(stateDir, 'running');
}

/** The ids of runs marked as not ended (claims by recoverers left out). */
export function listRunningIds(stateDir: string): string[] {
  return listRunMarkers(stateDir).filter((m) => !m.claimedBy).map((m) => m.runId);
}

/**
 * A marker in `running/`: `<run-id>` while the run has not ended, renamed to
 * `<run-id>~<pid>~<host>` by the command recovering it (recover.ts).
 */
export interface RunMarker {
  /** The file name in `running/`. */
  name: string;
  runId: string;
  /** Set on a claim: who is recovering the run. */
  claimedBy?: { pid: number; host: string };
}

const CLAIM_SEP = '~';

export function listRunMarkers(stateDir: string): RunMarker[] {
  let names: string[];
  try {
    names = readdirSync(runningDir(stateDir));
  } catch {
    return [];
  }
  return names.filter((n) => !n.startsWith('.')).map((name): RunMarker => {
    const [runId, pid, ...host] = name.split(CLAIM_SEP);
    if (pid === undefined || !/^\d+$/.test(pid) || host.length === 0) return { name, runId: name };
    return { name, runId: runId!, claimedBy: { pid: Number(pid), host: host.join(CLAIM_SEP) } };
  });
}

/** The marker name that claims `runId` for the recoverer `by`. */
export function claimName(runId: string, by: { pid: number; host: string }): string {
  return [runId, String(by.pid), by.host.replace(/\//g, '_')].join(CLAIM_SEP);
}

/**
 * Rename a marker (or a dead recoverer's claim) to `claim`. The rename is the claim: it succeeds
 * for one process only. Returns the claim's name, or undefined when another process got there first.
 */
export function claimRun(stateDir: string, marker: string, claim: string): string | undefined {
  try {
    renameSync(join(runningDir(stateDir), marker), join(runningDir(stateDir), claim));
    return claim;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function releaseClaim(stateDir: string, claim: string): void {
  rmSync(join(runningDir(stateDir), claim), { force: true });
}

/** The run has ended (or was recovered): take its marker away. */
export function unmarkRunning(stateDir: string, runId: string): void {
  rmSync(join(runningDir(stateDir), runId), { force: true });
}

/** File name for a step's output: qids may hold `.` (includes) and `:` (rollbacks). */
export function outputFileName(qid: string): string {
  return `${qid.replace(/[^A-Za-z0-9_.-]/g, '_')}.log`;
}

/**
 * Writes the journal as the run goes. Only opening it can fail (before any step runs, as a
 * MaintError); once the run is going, a write that fails (a full disk, say) never stops the
 * run: it is collected in `problems` and the run ends, rolls back and says what was lost.
 */
export class JournalWriter {
  readonly dir: string;
  private readonly eventsFd: number;
  private eventsOpen = true;
  private readonly outputs = new Map<string, { fd: number; bytes: number; truncated: boolean }>();
  /** Steps (and rollbacks) that have an output file. */
  private readonly written = new Set<string>();
  /** What could not be written, one line per file. */
  private readonly lost = new Map<string, string>();

  constructor(
    private readonly stateDir: string,
    private meta: RunMetaFile,
    private readonly outputCap = DEFAULT_OUTPUT_CAP,
    /** Told once per file that cannot be written (default: a line on stderr). */
    private readonly onProblem: (problem: string) => void = (p) => void process.stderr.write(`maint: ${p}\n`),
  ) {
    this.dir = join(runsDir(stateDir), meta.runId);
    try {
      ensureDir(join(this.dir, 'steps'));
      this.writeMeta();
      ensureDir(runningDir(stateDir));
      writeFileSync(join(runningDir(stateDir), meta.runId), '', { mode: 0o640 });
      this.eventsFd = openSync(join(this.dir, 'events.ndjson'), 'a', 0o640);
    } catch (err) {
      // Nothing ran: leave no half-made run behind for recovery or history to find.
      rmSync(join(runningDir(stateDir), meta.runId), { force: true });
      try {
        rmSync(this.dir, { recursive: true, force: true });
      } catch {
        // not removable either: history shows it as a run that never ended
      }
      const e = err as NodeJS.ErrnoException;
      const why = e instanceof PathError ? e.message : explainErrno(e.code, e.path ?? this.dir);
      throw new MaintError(`cannot start the run journal in ${stateDir}: ${why}; nothing was run`, 2);
    }
  }

  /** What could not be written to the journal, one line per file; empty when nothing was lost. */
  get problems(): string[] {
    return [...this.lost.values()];
  }

  /** Events go to disk as they happen; output chunks to the step's file, up to the cap. Never throws. */
  handle(e: RunEvent): void {
    if (e.type === 'step:output') return this.output(e.qid, e.text);
    this.writeEvent(e);
    if (e.type === 'step:end' || e.type === 'rollback:end') this.closeOutput(e.type === 'rollback:end' ? `${e.qid}:rollback` : e.qid);
    if (e.type === 'dr') this.meta = { ...this.meta, dr: e.dr }; // written with run:end, which follows
    if (e.type === 'run:end') {
      this.meta = { ...this.meta, status: e.status, exitCode: e.exitCode, durationMs: e.durationMs, pausedAt: e.pausedAt };
      this.soft('run.json', join(this.dir, 'run.json'), () => this.writeMeta());
      for (const qid of [...this.outputs.keys()]) this.closeOutput(qid);
      if (this.eventsOpen) this.soft('events.ndjson', join(this.dir, 'events.ndjson'), () => closeSync(this.eventsFd));
      this.eventsOpen = false;
      this.soft('running', join(runningDir(this.stateDir), this.meta.runId), () => unmarkRunning(this.stateDir, this.meta.runId));
    }
  }

  /** The output file of a step, when it printed anything (known without a stat per step). */
  outputFile(qid: string): string | undefined {
    return this.written.has(qid) ? join(this.dir, 'steps', outputFileName(qid)) : undefined;
  }

  private writeEvent(e: RunEvent) {
    if (!this.eventsOpen || this.lost.has('events.ndjson')) return;
    this.soft('events.ndjson', join(this.dir, 'events.ndjson'), () => writeSync(this.eventsFd, JSON.stringify(e) + '\n'), e.time);
  }

  /** Run a write; on failure, note once what was lost (from `since` on) and go on. */
  private soft(key: string, file: string, write: () => void, since?: number): boolean {
    try {
      write();
      return true;
    } catch (err) {
      if (!this.lost.has(key)) {
        const from = since === undefined ? '' : ` from ${new Date(since).toISOString().slice(11, 19)} UTC on`;
        const problem = `journal: ${file} not written${from}: ${explainErrno((err as NodeJS.ErrnoException).code, file)}`;
        this.lost.set(key, problem);
        this.onProblem(problem);
      }
      return false;
    }
  }

  private output(qid: string, text: string) {
    let out = this.outputs.get(qid);
    const file = join(this.dir, 'steps', outputFileName(qid));
    if (!out) {
      let fd = -1;
      if (!this.soft(`output:${qid}`, file, () => (fd = openSync(file, 'a', 0o640)))) return;
      out = { fd, bytes: 0, truncated: false };
      this.outputs.set(qid, out);
      this.written.add(qid);
    }
    if (out.truncated) return;
    const size = Buffer.byteLength(text);
    const room = this.outputCap - out.bytes;
    const o = out;
    // Synchronous writes keep memory flat however fast a step prints: nothing queues in maint.
    const ok = this.soft(`output:${qid}`, file, () => {
      if (size <= room) {
        writeSync(o.fd, text);
        o.bytes += size;
      } else {
        writeSync(o.fd, Buffer.from(text).subarray(0, Math.max(0, room)));
        writeSync(o.fd, `\n[maint: output truncated at ${this.outputCap} bytes]\n`);
        o.bytes = this.outputCap;
        o.truncated = true;
      }
    });
    if (!ok) o.truncated = true; // stop trying: the rest of this output is lost
  }

  private closeOutput(qid: string) {
    const out = this.outputs.get(qid);
    if (!out) return;
    this.outputs.delete(qid);
    try {
      closeSync(out.fd);
    } catch {
      // a close error loses nothing the failed write has not already reported
    }
  }

  private writeMeta() {
    writeMetaFile(this.dir, this.meta);
  }
}

/** run.json, replaced atomically so a reader never sees half of it. */
export function writeMetaFile(dir: string, meta: RunMetaFile): void {
  // A private name per writer: two commands may rewrite the same run.json at once.
  const tmp = join(dir, `.run.json.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(tmp, JSON.stringify(meta, null, 2) + '\n', { mode: 0o640, flag: 'wx' });
    renameSync(tmp, join(dir, 'run.json'));
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** run.json of a run; null when it is missing, cut short, or not of the shape maint writes. */
export function readMetaFile(dir: string): RunMetaFile | null {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  } catch {
    return null;
  }
  return runMetaProblem(value) === undefined ? (value as RunMetaFile) : null;
}

/** The events of a run; a line cut short by a crash, or that is not an event object, is ignored. */
export function readEvents(dir: string): RunEvent[] {
  let text: string;
  try {
    text = readFileSync(join(dir, 'events.ndjson'), 'utf8');
  } catch {
    return [];
  }
  const events: RunEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const event: unknown = JSON.parse(line);
      // Anything but an event maint wrote (a bare `null`, a number) is skipped like a cut line.
      if (typeof event === 'object' && event !== null && !Array.isArray(event) && typeof (event as { type?: unknown }).type === 'string') {
        events.push(event as RunEvent);
      }
    } catch {
      // a partial last line from a run killed mid-write
    }
  }
  return events;
}

/** Every run in the state dir, newest first. */
export function listRunDirs(stateDir: string): { dir: string; meta: RunMetaFile }[] {
  const root = runsDir(stateDir);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => ({ dir: join(root, name), meta: readMetaFile(join(root, name)) }))
    .filter((r): r is { dir: string; meta: RunMetaFile } => r.meta !== null)
    .sort((a, b) => b.meta.startedAt - a.meta.startedAt || b.meta.runId.localeCompare(a.meta.runId));
}
