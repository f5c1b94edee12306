import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../src/exec/events.js';
import { claimName, JournalWriter, readMetaFile, runningDir, runsDir, type RunMetaFile } from '../../../src/record/journal.js';
import { closeCutShort, recoverOrphans, replayRun } from '../../../src/record/recover.js';
import { emptyRecord } from '../../../src/record/summary.js';

const T0 = Date.UTC(2026, 10, 23, 2, 0, 0);
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!;

const start = (qid: string, name: string, time: number, command?: string): RunEvent => ({ type: 'step:start', time, qid, name, phase: 'steps', ...(command ? { command } : {}) });
const end = (qid: string, name: string, time: number): RunEvent => ({
  type: 'step:end', time, qid, name, phase: 'steps', status: 'passed', durationMs: 1, attempts: 1,
});
const fresh = () => emptyRecord({ by: 'ops@h', via: 'cron' }, { runId: 'r1', runbook: 'rb', title: 'RB', time: T0 });

describe('closeCutShort: the record of a run whose journal stops mid-run', () => {
  it('lists the steps still running as interrupted, timed to the last output they wrote', () => {
    const events: RunEvent[] = [
      { type: 'run:start', time: T0, runId: 'r1', runbook: 'rb', title: 'RB', dryRun: false },
      start('a', 'first', T0 + 1, 'true'),
      end('a', 'first', T0 + 100),
      start('g', 'group', T0 + 100),
      start('g.b', 'migrate', T0 + 110, 'migrate.sh'),
      { type: 'step:retry', time: T0 + 150, qid: 'g.b', attempt: 2, attempts: 3, delayMs: 10, reason: 'exit 1' },
    ];
    const rec = fresh();
    rec.steps.push({ qid: 'a', name: 'first', phase: 'steps', status: 'passed', durationMs: 99, attempts: 1 });
    closeCutShort(rec, events, { lastEventAt: T0 + 150, outputAt: new Map([['g.b', T0 + 5000]]) }, 4242, (q) => (q === 'g.b' ? '/s/g.b.log' : undefined));
    expect(rec.steps.map((s) => [s.qid, s.status, s.durationMs, s.attempts])).toEqual([
      ['a', 'passed', 99, 1],
      ['g', 'interrupted', 4900, 0],
      ['g.b', 'interrupted', 4890, 2],
    ]);
    expect(rec.steps[2]).toMatchObject({ reason: 'running when maint stopped', outputFile: '/s/g.b.log' });
    expect(rec).toMatchObject({ status: 'interrupted', exitCode: 137, durationMs: 5000, recovered: { pid: 4242, lastSeenAt: T0 + 5000, lastSeen: 'output of migrate' } });
  });

  it('a run killed before any step ended lasts until its last event, not 0ms', () => {
    const rec = closeCutShort(fresh(), [start('a', 'long', T0 + 20, 'sleep 30')], { lastEventAt: T0 + 20, outputAt: new Map() }, 1);
    expect(rec.durationMs).toBe(20);
    expect(rec.recovered?.lastSeen).toBe('a journal event');
    expect(rec.steps).toEqual([expect.objectContaining({ qid: 'a', status: 'interrupted', durationMs: 0, attempts: 1 })]);
  });

  it('a rollback that was running is listed as not known to have finished', () => {
    const events: RunEvent[] = [{ type: 'rollback:start', time: T0 + 10, qid: 'a', name: 'first', command: 'undo' }];
    const rec = closeCutShort(fresh(), events, { lastEventAt: T0 + 10, outputAt: new Map([['a:rollback', T0 + 40]]) }, 1);
    expect(rec.rollbacks).toEqual([{ qid: 'a', name: 'first', ok: false, durationMs: 30, reason: 'running when maint stopped; it may not have finished' }]);
    expect(rec.recovered?.lastSeen).toBe('output of first');
  });
});

/** A state dir holding one run whose maint died while step `long` ran. */
function deadRun(moreSteps = 0): { state: string; log: string; meta: RunMetaFile } {
  // Close to now: the output file's modification time (now) is a sign of life too.
  const B = Date.now() - 60_000;
  const root = mkdtempSync(join(tmpdir(), 'maint-recover-'));
  const state = join(root, '.maint');
  const log = join(root, 'maintenance-log.md');
  const meta: RunMetaFile = {
    runId: '20261123T020000Z-abcdef', runbook: 'k', title: 'Killed', file: join(root, 'k.yaml'), cwd: root, pid: deadPid(), host: hostname(),
    by: 'ops@h', via: 'cron', startedAt: B, status: 'running', flags: { var: [], log },
  };
  const j = new JournalWriter(state, meta);
  for (let i = 0; i < moreSteps; i++) {
    j.handle(start(`s${i}`, `step ${i}`, B + 1, 'true'));
    j.handle(end(`s${i}`, `step ${i}`, B + 2));
  }
  j.handle(start('done', 'done before the kill', B + 5, 'true'));
  j.handle(end('done', 'done before the kill', B + 50));
  j.handle(start('long', 'long', B + 60, 'sleep 30'));
  j.handle({ type: 'step:output', time: B + 70, qid: 'long', stream: 'stdout', text: 'working\n' });
  // no run:end: maint died here (its file descriptors close with it)
  return { state, log, meta };
}

const entries = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').split(/\n(?=## )/).filter((e) => e.startsWith('## ')) : []);

describe('recoverOrphans', () => {
  it('writes one entry listing the step that was running, and closes the run', async () => {
    const { state, log, meta } = deadRun();
    expect(await recoverOrphans(state)).toEqual([meta.runId]);
    const [entry, ...more] = entries(log);
    expect(more).toEqual([]);
    expect(entry).toMatch(/- \[x\] done before the kill/);
    // About a minute: from its start to its output file's last write (now); how many ms past the
    // minute depends on how fast this machine got here (59.9s, 60.0s, 1m00s, …).
    expect(entry).toMatch(/- \[ \] long \((?:59\.\ds|60\.0s|1m0\ds)\) — interrupted: running when maint stopped/);
    expect(entry).toMatch(/\*\*Duration\*\*: .*, to the last sign of life in the journal \(output of long, /);
    expect(entry).not.toMatch(/Duration\*\*: 0ms/);
    expect(readdirSync(runningDir(state))).toEqual([]);
    const closed = readMetaFile(join(runsDir(state), meta.runId))!;
    expect(closed).toMatchObject({ status: 'interrupted', exitCode: 137, recovered: true });
    // history replays the same record
    const replay = replayRun(join(runsDir(state), meta.runId), closed);
    expect(replay.steps.map((s) => [s.name, s.status])).toEqual([['done before the kill', 'passed'], ['long', 'interrupted']]);
    expect(replay.durationMs).toBe(closed.durationMs);
    expect(await recoverOrphans(state)).toEqual([]);
    expect(entries(log)).toHaveLength(1);
  });

  it('fifteen recoverers in this process at once: one entry', async () => {
    const { state, log } = deadRun();
    const closed = await Promise.all(Array.from({ length: 15 }, () => recoverOrphans(state)));
    expect(closed.flat()).toHaveLength(1);
    expect(entries(log)).toHaveLength(1);
  });

  it('fifteen processes recovering the same dead run at the same moment: one entry', async () => {
    // A long journal: reading it takes a while, which is when a second recoverer used to slip in.
    const { state, log } = deadRun(3000);
    // Node 20 cannot run TypeScript: the module, bundled, in each child; all start at one instant.
    const work = mkdtempSync(join(tmpdir(), 'maint-recoverers-'));
    await build({ entryPoints: [fileURLToPath(new URL('../../../src/record/recover.ts', import.meta.url))], bundle: true, platform: 'node', format: 'esm', outfile: join(work, 'recover.mjs'), logLevel: 'silent' });
    writeFileSync(join(work, 'child.mjs'), `import { recoverOrphans } from './recover.mjs';
const [state, startAt] = process.argv.slice(2);
while (Date.now() < Number(startAt)) { /* start together */ }
process.stdout.write(JSON.stringify(await recoverOrphans(state)));
`);
    const startAt = Date.now() + 2000;
    const results = await Promise.all(Array.from({ length: 15 }, () => new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [join(work, 'child.mjs'), state, String(startAt)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out }));
    })));
    expect(results.map((r) => r.code)).toEqual(Array(15).fill(0));
    expect(results.flatMap((r) => JSON.parse(r.out) as string[])).toHaveLength(1);
    expect(entries(log)).toHaveLength(1);
    expect(readdirSync(runningDir(state))).toEqual([]);
  });

  it('a state dir it may not change: the problem is told, nothing thrown, the run left for later', async (ctx) => {
    const { state, log, meta } = deadRun();
    if (spawnSync('chattr', ['+i', runningDir(state)]).status !== 0) return ctx.skip();
    const told: string[] = [];
    try {
      expect(await recoverOrphans(state, (p) => told.push(p))).toEqual([]);
    } finally {
      spawnSync('chattr', ['-i', runningDir(state)]);
    }
    expect(told).toEqual([expect.stringMatching(new RegExp(`^run ${meta.runId} was left unfinished but could not be closed: writing to .* is not permitted`))]);
    expect(entries(log)).toEqual([]);
    // later, when it may: closed once
    expect(await recoverOrphans(state, () => {})).toEqual([meta.runId]);
  });

  it('a claim whose recoverer is alive is left alone', async () => {
    const { state, log, meta } = deadRun();
    const claim = claimName(meta.runId, { pid: process.pid, host: hostname() });
    renameSync(join(runningDir(state), meta.runId), join(runningDir(state), claim));
    expect(await recoverOrphans(state)).toEqual([]);
    expect(entries(log)).toEqual([]);
    expect(readdirSync(runningDir(state))).toEqual([claim]);
  });

  it('a claim left by a recoverer that died: taken over; the entry is written once even if it was already appended', async () => {
    for (const alreadyLogged of [false, true]) {
      const { state, log, meta } = deadRun();
      const marker = join(runningDir(state), meta.runId);
      const claim = join(runningDir(state), claimName(meta.runId, { pid: deadPid(), host: hostname() }));
      writeFileSync(claim, '');
      rmSync(marker);
      if (alreadyLogged) writeFileSync(log, `# Maintenance log\n\n## 2026-11-23: Killed\n\n**Run**: ${meta.runId} (\`maint run k\`)  \n`);
      expect(await recoverOrphans(state)).toEqual([meta.runId]);
      expect(entries(log)).toHaveLength(1);
      expect(readdirSync(runningDir(state))).toEqual([]);
      expect(readMetaFile(join(runsDir(state), meta.runId))?.status).toBe('interrupted');
    }
  });
});
