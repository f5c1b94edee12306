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
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvent, RunStatus } from '../exec/events.js';
import type { DrResult } from './dr.js';
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
  /** `running` until the run ends; then how it ended. */
  status: 'running' | RunStatus;
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

/** The ids of runs marked as not ended. */
export function listRunningIds(stateDir: string): string[] {
  try {
    return readdirSync(runningDir(stateDir));
  } catch {
    return [];
  }
}

/** The run has ended (or was recovered): take its marker away. */
export function unmarkRunning(stateDir: string, runId: string): void {
  rmSync(join(runningDir(stateDir), runId), { force: true });
}

/** File name for a step's output: qids may hold `.` (includes) and `:` (rollbacks). */
export function outputFileName(qid: string): string {
  return `${qid.replace(/[^A-Za-z0-9_.-]/g, '_')}.log`;
}

export class JournalWriter {
  readonly dir: string;
  private readonly eventsFd: number;
  private readonly outputs = new Map<string, { fd: number; bytes: number; truncated: boolean }>();
  /** Steps (and rollbacks) that have an output file. */
  private readonly written = new Set<string>();

  constructor(
    private readonly stateDir: string,
    private meta: RunMetaFile,
    private readonly outputCap = DEFAULT_OUTPUT_CAP,
  ) {
    this.dir = join(runsDir(stateDir), meta.runId);
    mkdirSync(join(this.dir, 'steps'), { recursive: true, mode: 0o750 });
    this.writeMeta();
    mkdirSync(runningDir(stateDir), { recursive: true, mode: 0o750 });
    writeFileSync(join(runningDir(stateDir), meta.runId), '', { mode: 0o640 });
    this.eventsFd = openSync(join(this.dir, 'events.ndjson'), 'a', 0o640);
  }

  /** Events go to disk as they happen; output chunks to the step's file, up to the cap. */
  handle(e: RunEvent): void {
    if (e.type === 'step:output') return this.output(e.qid, e.text);
    writeSync(this.eventsFd, JSON.stringify(e) + '\n');
    if (e.type === 'step:end' || e.type === 'rollback:end') this.closeOutput(e.type === 'rollback:end' ? `${e.qid}:rollback` : e.qid);
    if (e.type === 'dr') this.meta = { ...this.meta, dr: e.dr }; // written with run:end, which follows
    if (e.type === 'run:end') {
      this.meta = { ...this.meta, status: e.status, exitCode: e.exitCode, durationMs: e.durationMs, pausedAt: e.pausedAt };
      this.writeMeta();
      for (const qid of [...this.outputs.keys()]) this.closeOutput(qid);
      closeSync(this.eventsFd);
      unmarkRunning(this.stateDir, this.meta.runId);
    }
  }

  /** The output file of a step, when it printed anything (known without a stat per step). */
  outputFile(qid: string): string | undefined {
    return this.written.has(qid) ? join(this.dir, 'steps', outputFileName(qid)) : undefined;
  }

  private output(qid: string, text: string) {
    let out = this.outputs.get(qid);
    if (!out) {
      out = { fd: openSync(join(this.dir, 'steps', outputFileName(qid)), 'a', 0o640), bytes: 0, truncated: false };
      this.outputs.set(qid, out);
      this.written.add(qid);
    }
    if (out.truncated) return;
    const size = Buffer.byteLength(text);
    const room = this.outputCap - out.bytes;
    // Synchronous writes keep memory flat however fast a step prints: nothing queues in maint.
    if (size <= room) {
      writeSync(out.fd, text);
      out.bytes += size;
    } else {
      writeSync(out.fd, Buffer.from(text).subarray(0, Math.max(0, room)));
      writeSync(out.fd, `\n[maint: output truncated at ${this.outputCap} bytes]\n`);
      out.bytes = this.outputCap;
      out.truncated = true;
    }
  }

  private closeOutput(qid: string) {
    const out = this.outputs.get(qid);
    if (!out) return;
    closeSync(out.fd);
    this.outputs.delete(qid);
  }

  private writeMeta() {
    writeMetaFile(this.dir, this.meta);
  }
}

/** run.json, replaced atomically so a reader never sees half of it. */
export function writeMetaFile(dir: string, meta: RunMetaFile): void {
  const tmp = join(dir, `.run.json.${process.pid}`);
  writeFileSync(tmp, JSON.stringify(meta, null, 2) + '\n', { mode: 0o640 });
  renameSync(tmp, join(dir, 'run.json'));
}

export function readMetaFile(dir: string): RunMetaFile | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunMetaFile;
  } catch {
    return null;
  }
}

/** The events of a run; a line cut short by a crash is ignored. */
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
      events.push(JSON.parse(line) as RunEvent);
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
