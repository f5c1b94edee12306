import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MaintError } from '../../../src/cli/errors.js';
import type { RunEvent } from '../../../src/exec/events.js';
import { JournalWriter, listRunMarkers, readEvents, runsDir, type RunMetaFile } from '../../../src/record/journal.js';
import { acquireLock, lockPath } from '../../../src/record/lock.js';
import { appendLogEntry, tryAppendLogEntry } from '../../../src/record/log-file.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'maint-journal-'));
const hasDevFull = existsSync('/dev/full');

function meta(state: string, runId = '20261123T020000Z-abcdef'): RunMetaFile {
  return {
    runId, runbook: 'rb', title: 'RB', file: '/x/rb.yaml', cwd: state, pid: process.pid, host: hostname(), by: 'ops@h', via: 'cron',
    startedAt: Date.now(), status: 'running', flags: { var: [], log: join(state, 'log.md') },
  };
}

const T = Date.UTC(2026, 10, 23, 2, 0, 0);
const ev: RunEvent[] = [
  { type: 'run:start', time: T, runId: 'r', runbook: 'rb', title: 'RB', dryRun: false },
  { type: 'step:start', time: T + 1, qid: 'a', name: 'a', phase: 'steps', command: 'echo' },
  { type: 'step:output', time: T + 2, qid: 'a', stream: 'stdout', text: 'hello\n' },
  { type: 'step:end', time: T + 3, qid: 'a', name: 'a', phase: 'steps', status: 'passed', durationMs: 2, attempts: 1 },
  { type: 'run:end', time: T + 4, status: 'passed', exitCode: 0, durationMs: 4 },
];

describe('JournalWriter', () => {
  it('writes events and output, and unmarks the run at its end', () => {
    const state = join(tmp(), 'deep/state');
    const j = new JournalWriter(state, meta(state), undefined, () => {});
    expect(listRunMarkers(state).map((m) => m.runId)).toEqual(['20261123T020000Z-abcdef']);
    for (const e of ev) j.handle(e);
    expect(j.problems).toEqual([]);
    expect(readEvents(j.dir).map((e) => e.type)).toEqual(['run:start', 'step:start', 'step:end', 'run:end']);
    expect(readFileSync(j.outputFile('a')!, 'utf8')).toBe('hello\n');
    expect(listRunMarkers(state)).toEqual([]);
  });

  // A disk that fills mid-run: every write fails with ENOSPC; the run must go on and hear what was lost.
  it.skipIf(!hasDevFull)('a full disk mid-run: handle never throws, each lost file is told once', () => {
    const state = tmp();
    const m = meta(state);
    const dir = join(runsDir(state), m.runId);
    mkdirSync(join(dir, 'steps'), { recursive: true });
    symlinkSync('/dev/full', join(dir, 'events.ndjson'));
    symlinkSync('/dev/full', join(dir, 'steps', 'a.log'));
    const told: string[] = [];
    const j = new JournalWriter(state, m, undefined, (p) => told.push(p));
    for (const e of ev) expect(() => j.handle(e)).not.toThrow();
    expect(told).toEqual(j.problems);
    expect(j.problems).toEqual([
      `journal: ${join(dir, 'events.ndjson')} not written from 02:00:00 UTC on: no space left on the device of ${join(dir, 'events.ndjson')}`,
      `journal: ${join(dir, 'steps', 'a.log')} not written: no space left on the device of ${join(dir, 'steps', 'a.log')}`,
    ]);
    // run.json still says how the run ended, and the run is no longer marked as running
    expect(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).status).toBe('passed');
    expect(listRunMarkers(state)).toEqual([]);
  });

  it.skipIf(!existsSync('/proc/self'))('a state dir that cannot be created: exit 2 at once, nothing written', () => {
    const t0 = Date.now();
    let caught: unknown;
    try {
      new JournalWriter('/proc/maint-nope/state', meta('/proc/maint-nope/state'));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(MaintError);
    expect((caught as MaintError).exitCode).toBe(2);
    expect((caught as MaintError).message).toMatch(/^cannot start the run journal in \/proc\/maint-nope\/state: cannot create .*\/proc cannot hold new entries.*; nothing was run$/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe('a journal that cannot start', () => {
  it('leaves no marker and no run folder behind for recovery or history to find', () => {
    const state = tmp();
    const m = meta(state);
    // a folder where the events file must go: open fails after run.json and the marker were written
    mkdirSync(join(runsDir(state), m.runId, 'events.ndjson'), { recursive: true });
    expect(() => new JournalWriter(state, m)).toThrow(/^cannot start the run journal in .*events\.ndjson is a folder; nothing was run$/);
    expect(listRunMarkers(state)).toEqual([]);
    expect(existsSync(join(runsDir(state), m.runId))).toBe(false);
  });
});

describe('the maintenance log on a full disk', () => {
  it.skipIf(!hasDevFull)('tryAppendLogEntry says what was not written instead of throwing', async () => {
    expect(await tryAppendLogEntry('/dev/full', '\n## entry\n')).toBe('log entry not written to /dev/full: no space left on the device of /dev/full');
    // thrown, it is a user-facing error with the same words, never an internal error
    await expect(appendLogEntry('/dev/full', '\n## entry\n')).rejects.toThrow(new MaintError('log entry not written to /dev/full: no space left on the device of /dev/full', 1));
  });

  it('a folder in the way of the log folder', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'logs'), '');
    expect(await tryAppendLogEntry(join(dir, 'logs/ops.md'), 'x')).toBe(`log entry not written: cannot create ${join(dir, 'logs')}: ${join(dir, 'logs')} is not a folder`);
  });
});

describe('acquireLock', () => {
  it('writes the lock aside under an unguessable name: a file planted at the old predictable name is never written through', () => {
    const state = tmp();
    mkdirSync(join(state, 'locks'));
    const victim = join(tmp(), 'victim');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, `${lockPath(state, 'rb')}.${process.pid}.tmp`);
    const lock = acquireLock(state, 'rb', 'run-1');
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(lockPath(state, 'rb')).isSymbolicLink()).toBe(false);
    expect(statSync(lockPath(state, 'rb')).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(lockPath(state, 'rb'), 'utf8'))).toMatchObject({ pid: process.pid, runId: 'run-1' });
    // nothing else left aside
    expect(readdirSync(join(state, 'locks')).filter((n) => n.endsWith('.tmp') && !n.includes(String(process.pid)))).toEqual([]);
    lock.release();
    expect(existsSync(lockPath(state, 'rb'))).toBe(false);
  });

  it.skipIf(!existsSync('/proc/self'))('a state dir under /proc: exit 2, not a spinning mkdir', () => {
    expect(() => acquireLock('/proc/maint-nope', 'rb', 'r')).toThrow(/cannot create \/proc\/maint-nope\/locks: .*nothing was run/);
  });
});

describe('readEvents: a line that is not an event object is skipped, like a cut one', () => {
  it.each(['null', '5', '[]', '"x"', '{"qid":"a"}', '{"type":7}', '{"type":"run:end"'])('%s', (line) => {
    const dir = tmp();
    const ok = { type: 'step:start', time: 1, qid: 'a' };
    writeFileSync(join(dir, 'events.ndjson'), `${JSON.stringify(ok)}\n${line}\n${JSON.stringify(ok)}\n`);
    expect(readEvents(dir)).toEqual([ok, ok]);
  });
});
