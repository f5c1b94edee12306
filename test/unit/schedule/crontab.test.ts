import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cron } from 'croner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crontabCommand, crontabLines, portableSchedule, type CrontabOptions } from '../../../src/schedule/crontab.js';

let dir: string;
let fakeBin: string;
let realDate: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'maint-crontab-'));
  realDate = bash('command -v date', { PATH: process.env.PATH ?? '' }).trim();
  // A `date` that believes it is $FAKE_NOW (e.g. @1764579600) unless given a date with -d.
  fakeBin = join(dir, 'fake bin');
  mkdirSync(fakeBin);
  writeFileSync(
    join(fakeBin, 'date'),
    `#!/bin/bash
for a in "$@"; do case "$a" in -d|-d?*|--date|--date=*) exec ${realDate} "$@";; esac; done
exec ${realDate} -d "$FAKE_NOW" "$@"
`,
  );
  chmodSync(join(fakeBin, 'date'), 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Run a bash script with exactly this environment. stdin is closed: bash reads ~/.bashrc when its
 * stdin is a socket, which is what a piped stdin from node is.
 */
function bash(script: string, env: Record<string, string>): string {
  return execFileSync('bash', ['-c', script], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Paths with spaces and a `%`, and a "node" that records where and how it was run. */
function fixture(): CrontabOptions {
  const nodeDir = join(dir, 'node 20', 'bin');
  mkdirSync(nodeDir, { recursive: true });
  const nodeBin = join(nodeDir, 'node');
  writeFileSync(nodeBin, '#!/bin/bash\necho "ran at=$FAKE_NOW cwd=$PWD args=$*"\n');
  chmodSync(nodeBin, 0o755);
  const cwd = join(dir, 'my ops');
  const logDir = join(dir, 'logs 100%');
  mkdirSync(cwd, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  return { cwd, logDir, nodeBin, maintBin: '/opt/maint app/bin/maint.js', path: '/usr/local/bin:/usr/bin:/bin' };
}

const jobLines = (text: string) => text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#') && !/^[A-Z_]+=/.test(l));

/** Every fire time of `expr` in [from, to). */
function fires(expr: string, timezone: string, from: string, to: string): number[] {
  const cron = new Cron(expr, { paused: true, timezone });
  const out: number[] = [];
  for (let d = cron.nextRun(new Date(new Date(from).getTime() - 1)); d && d < new Date(to); d = cron.nextRun(d)) out.push(d.getTime());
  return out;
}

describe('crontabLines', () => {
  const opts: CrontabOptions = {
    cwd: '/srv/ops',
    maintBin: '/opt/maint/bin/maint.js',
    nodeBin: '/opt/node/bin/node',
    path: '/usr/local/bin:/usr/bin:/bin:/opt/tools/bin',
    logDir: '/var/log/maint',
  };
  const runbooks = [
    { name: 'weekly', schedule: '0 2 * * SUN' },
    { name: 'monthly', schedule: '0 9 * * MON#1', timezone: 'Europe/Helsinki' },
    { name: 'lastfri', schedule: '0 9 * * FRI#L', timezone: 'Europe/Helsinki' },
    { name: 'eom', schedule: '30 23 L * *', timezone: 'UTC' },
    { name: 'adhoc' },
    { name: 'odd', schedule: '0 9 15W * *' },
  ];
  const text = crontabLines(runbooks, opts);

  it('starts with a header comment, SHELL and a PATH with node and the tools', () => {
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^# maint/);
    expect(text).toMatch(/Vixie cron .*ignores CRON_TZ/s);
    expect(lines).toContain('SHELL=/bin/bash');
    expect(lines).toContain('PATH=/opt/node/bin:/usr/local/bin:/usr/bin:/bin:/opt/tools/bin');
  });

  it('has one job line per runbook cron can run: 5 valid cron fields and the maint command', () => {
    const jobs = jobLines(text).map(crontabCommand);
    expect(jobs.map((j) => j.schedule)).toEqual(['0 2 * * 0', '0 9 1-7 * *', '0 9 * * 5', '30 23 28-31 * *']);
    for (const j of jobs) {
      expect(j.schedule.split(' ')).toHaveLength(5);
      expect(() => new Cron(j.schedule, { paused: true })).not.toThrow();
    }
    expect(jobs[0]!.command).toBe('cd /srv/ops && /opt/node/bin/node /opt/maint/bin/maint.js run weekly --yes >> /var/log/maint/weekly.cron.log 2>&1');
    expect(jobs[1]!.command).toBe(
      '[ "$(TZ=Europe/Helsinki date +%u)" = 1 ] && cd /srv/ops && /opt/node/bin/node /opt/maint/bin/maint.js run monthly --yes >> /var/log/maint/monthly.cron.log 2>&1',
    );
    expect(text).not.toMatch(/run adhoc/);
    expect(text).toMatch(/^# odd: not scheduled here, .*15W/m);
    expect(text).not.toMatch(/run odd/);
  });

  it('escapes every % as \\% in job lines (a bare % would cut the command)', () => {
    for (const line of jobLines(text)) expect(line).not.toMatch(/(^|[^\\])%/);
    expect(jobLines(text)[1]).toContain('date +\\%u');
    expect(() => crontabCommand('0 9 * * * date +%F')).toThrow(/unescaped %/);
    expect(crontabCommand('0 9 * * * date +\\%F').command).toBe('date +%F');
  });

  it('sets CRON_TZ before each block whose zone differs, UTC included', () => {
    const tzLines = text.split('\n').filter((l) => l.startsWith('CRON_TZ='));
    expect(tzLines).toEqual(['CRON_TZ=UTC', 'CRON_TZ=Europe/Helsinki', 'CRON_TZ=UTC']);
    const lines = text.split('\n');
    const monthly = lines.findIndex((l) => l.includes('run monthly'));
    const lastTz = lines.slice(0, monthly).filter((l) => l.startsWith('CRON_TZ=')).pop();
    expect(lastTz).toBe('CRON_TZ=Europe/Helsinki');
  });
});

describe('crontab commands run in bash', () => {
  it('quotes paths with spaces and %: the command runs in cwd and appends to the log', () => {
    const opts = fixture();
    const [line] = jobLines(crontabLines([{ name: 'weekly', schedule: '0 2 * * SUN' }], opts));
    expect(line).toContain("'" + opts.cwd + "'");
    const { command } = crontabCommand(line!);
    bash(command, { PATH: process.env.PATH ?? '', FAKE_NOW: 'x' });
    bash(command, { PATH: process.env.PATH ?? '', FAKE_NOW: 'y' });
    expect(readFileSync(join(opts.logDir, 'weekly.cron.log'), 'utf8')).toBe(
      `ran at=x cwd=${opts.cwd} args=${opts.maintBin} run weekly --yes\n` + `ran at=y cwd=${opts.cwd} args=${opts.maintBin} run weekly --yes\n`,
    );
  });

  /**
   * For every fire time of the portable schedule in [from, to), run the crontab command with
   * `date` pretending to be at that time; maint must run exactly at the original schedule's times.
   */
  function runsOver(name: string, schedule: string, timezone: string, from: string, to: string) {
    const opts = fixture();
    const portable = portableSchedule(schedule, timezone);
    if (!portable.ok) throw new Error(portable.reason);
    const [line] = jobLines(crontabLines([{ name, schedule, timezone }], opts));
    const { schedule: cronFields, command } = crontabCommand(line!);
    expect(cronFields).toBe(portable.schedule);
    const candidates = fires(cronFields, timezone, from, to);
    // The guard fails on most candidate days, so the loop's status says nothing: `true` at the end.
    bash('for t in $TIMES; do ( export FAKE_NOW="@$t"; eval "$CMD" ); done; true', {
      PATH: `${fakeBin}:${process.env.PATH ?? ''}`,
      CMD: command,
      TIMES: candidates.map((t) => t / 1000).join(' '),
    });
    const log = readFileSync(join(opts.logDir, `${name}.cron.log`), 'utf8');
    const ran = [...log.matchAll(/ran at=@(\d+)/g)].map((m) => Number(m[1]) * 1000);
    const expected = fires(schedule, timezone, from, to);
    expect(expected.length).toBeGreaterThan(0);
    // every real fire time is a candidate, and the guard lets exactly those through
    expect(candidates).toEqual(expect.arrayContaining(expected));
    expect(ran.map((t) => new Date(t).toISOString())).toEqual(expected.map((t) => new Date(t).toISOString()));
    return { candidates, ran };
  }

  it('MON#1: days 1-7 and a weekday guard, over two years', () => {
    const { candidates, ran } = runsOver('first-monday', '0 9 * * MON#1', 'UTC', '2026-01-01T00:00:00Z', '2028-01-01T00:00:00Z');
    expect(ran).toHaveLength(24);
    expect(candidates.length).toBeGreaterThan(150);
  });

  it('SUN#2 just after midnight in Helsinki (Sunday is 7 for date +%u)', () => {
    runsOver('second-sunday', '30 0 * * SUN#2', 'Europe/Helsinki', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z');
  });

  it('5#5: fifth Friday, only in months that have one', () => {
    const { ran } = runsOver('fifth-friday', '0 9 * * 5#5', 'UTC', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z');
    expect(ran.length).toBeGreaterThan(0);
    expect(ran.length).toBeLessThan(12);
  });

  it('FRI#L in Helsinki through both DST changes', () => {
    const { ran } = runsOver('last-friday', '0 9 * * FRI#L', 'Europe/Helsinki', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z');
    expect(ran).toHaveLength(12);
  });

  it('last Sunday at 00:30 in Helsinki, the DST days themselves', () => {
    runsOver('last-sunday', '30 0 * * 0L', 'Europe/Helsinki', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z');
  });

  // Beirut starts summer time at 00:00 on the last Sunday of March: that day has no midnight, so
  // a guard that asks `date -d DAY` about it gets "invalid date". The guards ask about noon.
  it('L (last day of the month) in Beirut, where 31 March 2024 has no midnight, leap day included', () => {
    const { ran } = runsOver('month-end', '30 0 L * *', 'Asia/Beirut', '2024-01-01T00:00:00Z', '2025-01-01T00:00:00Z');
    expect(ran).toHaveLength(12);
    expect(ran.map((t) => new Date(t).toISOString())).toContain('2024-02-28T22:30:00.000Z'); // 29 Feb 00:30 EET
  });

  it('SUN#L in Beirut, where the last Sunday of March has no midnight', () => {
    const { ran } = runsOver('last-sunday-beirut', '0 9 * * SUN#L', 'Asia/Beirut', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z');
    expect(ran).toHaveLength(12);
  });
});

describe('portableSchedule', () => {
  it('passes plain cron through with numbers for names and 0-6 for days of week', () => {
    expect(portableSchedule('0 2 * * SUN')).toEqual({ ok: true, schedule: '0 2 * * 0' });
    expect(portableSchedule('0 2 * * 7')).toEqual({ ok: true, schedule: '0 2 * * 0' });
    expect(portableSchedule('0 2 * JAN-MAR MON-FRI')).toEqual({ ok: true, schedule: '0 2 * 1-3 1-5' });
    expect(portableSchedule('0 2 * * 5-7')).toEqual({ ok: true, schedule: '0 2 * * 5-6,0' });
    expect(portableSchedule('0 2 ? * 1')).toEqual({ ok: true, schedule: '0 2 * * 1' });
    expect(portableSchedule('*/10 1-5 1,15 * *')).toEqual({ ok: true, schedule: '*/10 1-5 1,15 * *' });
  });

  it('is the same schedule: the portable form fires when croner fires the original', () => {
    for (const expr of ['0 2 * * SUN', '0 2 * * 7', '0 2 * JAN-MAR MON-FRI', '0 2 * * 5-7', '15 3 1-7 * MON']) {
      const p = portableSchedule(expr);
      if (!p.ok) throw new Error(p.reason);
      expect(fires(p.schedule, 'UTC', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z')).toEqual(
        fires(expr, 'UTC', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z'),
      );
    }
  });

  it('would be wrong to restrict both day fields: cron ORs them', () => {
    // 23 Nov 2026 is the fourth Monday, yet `0 9 1-7 * 1` fires on it.
    expect(new Cron('0 9 1-7 * 1', { paused: true, timezone: 'UTC' }).match(new Date('2026-11-23T09:00:00Z'))).toBe(true);
    expect(portableSchedule('0 9 * * MON#1')).toMatchObject({ ok: true, schedule: '0 9 1-7 * *' });
  });

  it('refuses what it cannot translate', () => {
    for (const expr of ['0 9 15W * *', '0 9 LW * *', '0 9 15 * MON#1', '0 9 * * MON#1,MON#3', '0 9 L * 1']) {
      expect(portableSchedule(expr).ok).toBe(false);
    }
  });
});
