import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lines, maint, project } from '../helpers/cli.js';

const log = (dir: string) => readFileSync(join(dir, 'maintenance-log.md'), 'utf8');
const entries = (dir: string) => log(dir).split(/\n(?=## \d{4}-\d\d-\d\d: )/).filter((e) => e.startsWith('## '));

/**
 * A restore drill: the outage, then a restore that takes `vars.pause` seconds and reports the
 * restored snapshot as two hours old, then a check.
 */
const DRILL = `title: Restore drill
vars: { pause: "0" }
objectives: { rto: 4h, rpo: 3h }
steps:
  - { name: Simulate outage, disaster: true, run: "true" }
  - name: Restore snapshot
    id: restore
    run: sleep {{ vars.pause }}
    outputs: { recovery_point: 'now - duration("2h")' }
  - { name: Service answers, run: "true" }
`;

describe('DR tests: measured against the objectives', () => {
  it('objectives met: exit 0, the DR line on the console, in the log entry and the metrics file', async () => {
    const dir = project({ 'drill.yaml': DRILL, './maint.config.yaml': 'metrics: ./maint.prom\n' });
    const r = await maint(['run', 'drill', '--var', 'pause=1'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // RTO spans the one-second restore; RPO is the snapshot's age at the outage (2h, less the
    // few ms between the outage's end and `now` in the restore step).
    const dr = lines(r.stdout).find((l) => l.startsWith('DR '));
    expect(dr).toMatch(/^DR +RTO \d+(\.\d)?s \(objective 4h\) met · RPO 2h \(objective 3h\) met$/);
    expect(lines(r.stdout).indexOf(dr!)).toBe(lines(r.stdout).findIndex((l) => l.startsWith('■ passed')) - 1);
    const [entry] = entries(dir);
    expect(entry).toMatch(/\*\*Result\*\*: passed {2}\n\*\*DR objectives\*\*: RTO \d+(\.\d)?s \(target 4h\) met; RPO 2h \(target 3h\) met\n/);
    expect(entry).toMatch(/\*\*Follow-up actions\*\*: None/);
    const prom = readFileSync(join(dir, 'maint.prom'), 'utf8');
    const rto = Number(/^maint_dr_rto_seconds\{runbook="drill"\} (\S+)$/m.exec(prom)?.[1]);
    const rpo = Number(/^maint_dr_rpo_seconds\{runbook="drill"\} (\S+)$/m.exec(prom)?.[1]);
    expect(rto).toBeGreaterThanOrEqual(1);
    expect(rto).toBeLessThan(60); // the one-second restore, on however loaded a machine
    expect(rpo).toBeGreaterThan(7190);
    expect(rpo).toBeLessThanOrEqual(7200);
  });

  it('a missed RTO fails the run (exit 1) although every step passed', async () => {
    const dir = project({ 'drill.yaml': DRILL.replace('rto: 4h', 'rto: 500ms') });
    const r = await maint(['run', 'drill', '--var', 'pause=1'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ok +Restore snapshot/);
    expect(r.stdout).toMatch(/DR +RTO \d+(\.\d)?s \(objective 500ms\) MISSED · RPO 2h \(objective 3h\) met/);
    expect(r.stdout).toMatch(/■ failed in .* \(exit 1\)/);
    const [entry] = entries(dir);
    expect(entry).toContain('**Result**: failed: DR objectives missed');
    expect(entry).toMatch(/\*\*DR objectives\*\*: RTO \d+(\.\d)?s \(target 500ms\) MISSED; RPO 2h \(target 3h\) met/);
    expect(entry).toContain('- [ ] DR objectives missed: review the recovery procedure and the objectives');
    expect(entry).toMatch(/- \[x\] Restore snapshot/);
  });

  it('a missed RPO (recovery point in unix seconds from a command), and an unmeasured one, fail the run', async () => {
    const dir = project({
      'old.yaml': `objectives: { rpo: 30m }
steps:
  - name: Latest snapshot time
    run: echo $(( $(date +%s) - 3600 ))
    outputs: { recovery_point: int(stdout.trim()) }
  - { name: Outage, disaster: true, run: "true" }
  - { name: Restore, run: "true" }
`,
      'blind.yaml': `objectives: { rto: 1h, rpo: 30m }
steps:
  - { name: Outage, disaster: true, run: "true" }
  - { name: Restore, run: "true" }
`,
    });
    const old = await maint(['dr-test', 'old'], { cwd: dir });
    expect(old.code).toBe(1);
    // `date +%s` cuts to the second: the snapshot is 3600 to 3601 s older than the outage
    // (RTO is measured too, without an objective to meet)
    expect(lines(old.stdout).find((l) => l.startsWith('DR '))).toMatch(/^DR +RTO \d+ms · RPO 1h \(objective 30m\) MISSED$/);
    const blind = await maint(['dr-test', 'blind'], { cwd: dir });
    expect(blind.code).toBe(1);
    expect(blind.stdout).toMatch(/DR +RTO \d+ms \(objective 1h\) met · RPO not measured \(objective 30m\) — objectives MISSED: no step declared the output `recovery_point`/);
    expect(entries(dir)[1]).toContain('RPO not measured (target 30m) — MISSED: no step declared the output `recovery_point`');
  });

  it('--json: a dr event just before run:end, and run:end says failed when an objective was missed', async () => {
    const dir = project({ 'drill.yaml': DRILL.replace('rpo: 3h', 'rpo: 1h') });
    const r = await maint(['run', 'drill', '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.map((e) => e.type).slice(-2)).toEqual(['dr', 'run:end']);
    const dr = events.at(-2);
    expect(dr.v).toBe(1);
    expect(dr.dr).toMatchObject({ objectives: { rtoMs: 4 * 3_600_000, rpoMs: 3_600_000 }, met: false });
    expect(dr.dr.rtoMs).toBeGreaterThanOrEqual(0);
    expect(dr.dr.rtoMs).toBeLessThan(60_000);
    expect(dr.dr.rpoMs).toBeGreaterThan(2 * 3_600_000 - 1000);
    expect(dr.dr.rpoMs).toBeLessThanOrEqual(2 * 3_600_000);
    expect(events.at(-1)).toMatchObject({ type: 'run:end', status: 'failed', exitCode: 1 });
  });
});

describe('maint dr-test', () => {
  it('runs the runbook named dr-test by default', async () => {
    const dir = project({ 'dr-test.yaml': DRILL });
    const r = await maint(['dr-test'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/▶ Restore drill \(dr-test, run \S+\)/);
    expect(r.stdout).toMatch(/DR +RTO \d+ms \(objective 4h\) met · RPO 2h \(objective 3h\) met/);
  });

  it('refuses (exit 2, nothing run) a runbook without objectives or without a disaster step', async () => {
    const dir = project({
      'plain.yaml': 'steps:\n  - { name: touch, run: touch ran }\n',
      'no-outage.yaml': 'objectives: { rto: 1h }\nsteps:\n  - { name: touch, run: touch ran }\n',
    });
    const plain = await maint(['dr-test', 'plain'], { cwd: dir });
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/^maint: runbooks\/plain\.yaml: not a DR test: no `objectives` .*; no step marked `disaster: true`/m);
    const noOutage = await maint(['dr-test', 'no-outage', '--dry-run'], { cwd: dir });
    expect(noOutage.code).toBe(2);
    expect(noOutage.stderr).toContain('runbooks/no-outage.yaml: not a DR test: no step marked `disaster: true`');
    expect(noOutage.stderr).not.toContain('objectives');
    expect(existsSync(join(dir, 'ran'))).toBe(false);
    // A refused drill is recorded (a scheduled check that stopped working must be noticed); the
    // dry run adds nothing.
    const log = readFileSync(join(dir, 'maintenance-log.md'), 'utf8');
    expect(log.match(/\*\*Result\*\*: refused, nothing was run \(exit 2\)/g)).toHaveLength(1);
    // without a name and without a dr-test runbook: an unknown runbook
    expect((await maint(['dr-test'], { cwd: dir })).code).toBe(2);
    // `maint run` runs the same runbooks as plain runbooks
    expect((await maint(['run', 'plain'], { cwd: dir })).code).toBe(0);
  });

  it('--help names it, with an example', async () => {
    const dir = project({});
    expect((await maint(['--help'], { cwd: dir })).stdout).toMatch(/dr-test \[options\] \[runbook\]/);
    const help = await maint(['dr-test', '--help'], { cwd: dir });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('$ maint dr-test');
    expect(help.stdout).toContain('--var <name=value>');
  });
});

describe('maint history --dr', () => {
  it('the trend: one line per measured run, newest first; --json; --limit; the DR column in plain history', async () => {
    // The missed run misses its RPO (a snapshot 5h old), not its RTO: no wall clock decides it.
    const aged = DRILL.replace('pause: "0" }', 'pause: "0", age: "2h" }').replace('duration("2h")', 'duration(vars.age)');
    expect(aged).toContain('duration(vars.age)');
    const dir = project({ 'drill.yaml': aged, 'other.yaml': 'steps:\n  - { name: a, run: "true" }\n' });
    expect((await maint(['run', 'drill'], { cwd: dir })).code).toBe(0);
    expect((await maint(['run', 'other'], { cwd: dir })).code).toBe(0);
    expect((await maint(['dr-test', 'drill', '--var', 'age=5h'], { cwd: dir })).code).toBe(1);

    const trend = await maint(['history', '--dr'], { cwd: dir });
    expect(trend.code).toBe(0);
    const rows = trend.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^START \(UTC\) +RUN +RUNBOOK +RTO \(OBJECTIVE\) +RPO \(OBJECTIVE\) +DR$/);
    expect(rows).toHaveLength(3);
    expect(rows[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +\S+Z-[0-9a-f]+ +drill +\d+(\.\d)?m?s \(4h\) +5h \(3h\) +MISSED$/);
    expect(rows[2]).toMatch(/ drill +\d+(\.\d)?m?s \(4h\) +2h \(3h\) +met$/);

    const json = JSON.parse((await maint(['history', '--dr', 'drill', '--json'], { cwd: dir })).stdout);
    expect(json).toHaveLength(2);
    expect(json[0]).toMatchObject({ runbook: 'drill', rto_objective_ms: 4 * 3_600_000, rpo_objective_ms: 3 * 3_600_000, met: false, missing: null, result: 'failed', exit_code: 1 });
    expect(json[0].rpo_ms).toBeGreaterThan(5 * 3_600_000 - 60_000);
    expect(json[0].rpo_ms).toBeLessThanOrEqual(5 * 3_600_000);
    expect(json[1]).toMatchObject({ runbook: 'drill', met: true, result: 'passed', exit_code: 0 });
    expect(json[0].start > json[1].start).toBe(true);

    const one = JSON.parse((await maint(['history', '--dr', '--json', '--limit', '1'], { cwd: dir })).stdout);
    expect(one.map((r: { run: string }) => r.run)).toEqual([json[0].run]);
    expect((await maint(['history', '--dr', 'other'], { cwd: dir })).stdout).toMatch(/^no DR tests recorded for other in /);

    // plain history: a DR column, `-` for the run that was not measured
    const all = (await maint(['history'], { cwd: dir })).stdout.trim().split('\n');
    expect(all[0]).toMatch(/ RESULT +DR +BY$/);
    expect(all.slice(1).map((l) => / (met|MISSED|-) +\S+@/.exec(l)?.[1])).toEqual(['MISSED', '-', 'met']);
    const listed = JSON.parse((await maint(['history', '--json'], { cwd: dir })).stdout);
    expect(listed.map((r: { dr: { met: boolean } | null }) => r.dr?.met ?? null)).toEqual([false, null, true]);
    // one run: its measurement
    expect((await maint(['history', json[0].run], { cwd: dir })).stdout).toMatch(/^DR RTO \d+(\.\d)?m?s \(objective 4h\) met · RPO 5h \(objective 3h\) MISSED$/m);
  });
});
