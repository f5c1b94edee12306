import { describe, expect, it } from 'vitest';
import { formatLogEntry, REASON_MAX, signalOfExit } from '../../../src/record/log-entry.js';
import type { RollbackRecord, RunRecord, StepRecord } from '../../../src/record/types.js';

const START = Date.UTC(2026, 10, 23, 2, 0, 1);

function step(qid: string, name: string, status: StepRecord['status'], more: Partial<StepRecord> = {}): StepRecord {
  return { qid, name, phase: 'steps', status, durationMs: 800, attempts: status === 'skipped' ? 0 : 1, ...more };
}

function run(more: Partial<RunRecord> = {}): RunRecord {
  return {
    runId: '20261123T020001Z-3f9a1c',
    runbook: 'weekly',
    title: 'Weekly maintenance',
    by: 'ops@bastion-1',
    via: 'cron',
    startedAt: START,
    durationMs: 252_000,
    status: 'passed',
    exitCode: 0,
    steps: [step('certs', 'Certificates valid for 30 more days', 'passed')],
    rollbacks: [],
    ...more,
  };
}

/** The line holding `needle`; fails the test when there is none. */
function lineWith(text: string, needle: string): string {
  const line = text.split('\n').find((l) => l.includes(needle));
  expect(line, `no line with ${JSON.stringify(needle)} in:\n${text}`).toBeDefined();
  return line!;
}

const failedRun = (): RunRecord =>
  run({
    status: 'failed',
    exitCode: 1,
    steps: [
      step('certs', 'Certificates valid for 30 more days', 'passed'),
      step('restic', 'Restic check', 'warned', { durationMs: 121_000, warnings: ['warning: steps.restic.outputs.age > 2'] }),
      step('apply', 'Apply patch image', 'failed', {
        durationMs: 12_000,
        reason: 'exit code 1: error: image not found',
        outputFile: '.maint/runs/20261123T020001Z-3f9a1c/steps/apply.log',
      }),
      step('rollout', 'Rollout finished', 'skipped', { reason: 'not run: an earlier step failed' }),
      step('lag', 'Replica lag', 'skipped', { reason: 'when vars.replica != "" is false' }),
      step('notify', 'Post "maintenance complete" on the status page', 'pending', { reason: 'Post "maintenance complete" on the status page' }),
      step('cleanup', 'Remove temp files', 'passed', { phase: 'finally', durationMs: 300 }),
    ],
    rollbacks: [{ qid: 'apply', name: 'Apply patch image', ok: true, durationMs: 3100 }],
  });

describe('formatLogEntry', () => {
  it('writes the whole template for a passed run, starting and ending with a blank line', () => {
    const text = formatLogEntry(run());
    expect(text).toBe(
      [
        '',
        '## 2026-11-23: Weekly maintenance',
        '',
        '**Performed by**: ops@bastion-1 (cron)  ',
        '**Run**: 20261123T020001Z-3f9a1c (`maint run weekly`)  ',
        '**Start**: 2026-11-23 02:00:01 UTC  ',
        '**Duration**: 4m12s  ',
        '**Result**: passed',
        '',
        '**Tasks completed**:',
        '- [x] Certificates valid for 30 more days (800ms)',
        '',
        '**Issues encountered**: None',
        '',
        '**Follow-up actions**: None',
        '',
        '',
      ].join('\n'),
    );
  });

  it('uses the UTC date even when the local day differs', () => {
    const text = formatLogEntry(run({ startedAt: Date.UTC(2026, 11, 31, 23, 59, 59) }));
    expect(text).toContain('## 2026-12-31: Weekly maintenance\n');
    expect(text).toContain('**Start**: 2026-12-31 23:59:59 UTC');
  });

  it('a passed run with a warning, an issue and a retry: "passed with warnings" and the issues listed', () => {
    const text = formatLogEntry(
      run({
        steps: [
          step('restic', 'Restic check', 'warned', { durationMs: 121_000, warnings: ['warning: snapshots older than 2d'] }),
          step('lag', 'Replica lag', 'issue', { reason: 'exit code 2', outputFile: '.maint/runs/x/steps/lag.log' }),
          step('rollout', 'Rollout finished', 'passed', { attempts: 3 }),
        ],
      }),
    );
    expect(lineWith(text, '**Result**')).toBe('**Result**: passed with warnings');
    expect(lineWith(text, 'Restic check (')).toBe('- [x] Restic check (2m01s) — passed with a warning: snapshots older than 2d');
    expect(lineWith(text, 'Replica lag (')).toBe('- [ ] Replica lag (800ms) — failed, the run went on (continue_on_error): exit code 2');
    expect(text).toContain(
      [
        '**Issues encountered**:',
        '- Restic check: warning: snapshots older than 2d',
        '- Replica lag failed, the run went on (continue_on_error): exit code 2',
        '- Rollout finished needed 3 attempts',
        '',
      ].join('\n'),
    );
    expect(text).toContain('- [ ] Look at Replica lag: full output in `.maint/runs/x/steps/lag.log`');
  });

  it('a failed run that rolled back: every kind of task line, rollbacks, finally and follow-ups', () => {
    const text = formatLogEntry(failedRun());
    expect(lineWith(text, '**Result**')).toBe('**Result**: failed, rolled back');
    expect(text).toContain(
      [
        '**Tasks completed**:',
        '- [x] Certificates valid for 30 more days (800ms)',
        '- [x] Restic check (2m01s) — passed with a warning: steps.restic.outputs.age > 2',
        '- [ ] Apply patch image (12.0s) — failed: exit code 1: error: image not found',
        '- [ ] Rollout finished — not run: an earlier step failed',
        '- [ ] ~~Replica lag~~ — skipped: when vars.replica != "" is false',
        '- [ ] Post "maintenance complete" on the status page — pending (manual)',
        '',
        '**Finally**:',
        '- [x] Remove temp files (300ms)',
        '',
        '**Rollbacks**:',
        '- [x] Apply patch image (3.1s)',
        '',
      ].join('\n'),
    );
    expect(text).toContain(
      [
        '**Follow-up actions**:',
        '- [ ] Look at Apply patch image: full output in `.maint/runs/20261123T020001Z-3f9a1c/steps/apply.log`',
        '- [ ] Post "maintenance complete" on the status page (manual task left pending)',
      ].join('\n'),
    );
  });

  it('a failed run without rollbacks, or with a failed one, is just "failed"', () => {
    expect(lineWith(formatLogEntry({ ...failedRun(), rollbacks: [] }), '**Result**')).toBe('**Result**: failed');
    const noFinally = formatLogEntry({ ...failedRun(), steps: failedRun().steps.filter((s) => s.phase === 'steps') });
    expect(noFinally).not.toContain('**Finally**');
  });

  it('a failed rollback: "ROLLBACK FAILED", the failure reason, and a follow-up to check by hand', () => {
    const rollbacks: RollbackRecord[] = [
      { qid: 'b', name: 'Scale up', ok: true, durationMs: 1000 },
      { qid: 'a', name: 'Apply patch image', ok: false, durationMs: 2000, reason: 'exit code 1' },
    ];
    const text = formatLogEntry({ ...failedRun(), status: 'rollback_failed', exitCode: 3, rollbacks });
    expect(lineWith(text, '**Result**')).toBe('**Result**: failed, ROLLBACK FAILED');
    expect(text).toContain('**Rollbacks**:\n- [x] Scale up (1.0s)\n- [ ] Apply patch image (2.0s) — rollback failed: exit code 1\n');
    expect(text).toContain('- [ ] A rollback failed (Apply patch image): check the system by hand now');
  });

  it('a paused run names the step by name and says how to resume', () => {
    const text = formatLogEntry(
      run({
        status: 'paused',
        exitCode: 5,
        pausedAt: 'drain',
        steps: [
          step('certs', 'Certificates', 'passed'),
          step('drain', 'Drain node-3', 'paused', { attempts: 0, reason: 'waits for confirmation: Drain? (unattended: resume with --yes)' }),
        ],
      }),
    );
    expect(lineWith(text, '**Result**')).toBe('**Result**: paused at Drain node-3');
    expect(lineWith(text, 'Drain node-3 —')).toBe('- [ ] Drain node-3 — paused: waits for confirmation: Drain? (unattended: resume with --yes)');
    expect(text).toContain('- [ ] Resume: `maint resume 20261123T020001Z-3f9a1c --yes` (paused at Drain node-3)');
  });

  it('an interrupted run', () => {
    const text = formatLogEntry(
      run({
        status: 'interrupted',
        exitCode: 130,
        steps: [
          step('apply', 'Apply patch image', 'interrupted', { reason: 'interrupted', outputFile: 'o/apply.log' }),
          step('rollout', 'Rollout finished', 'skipped', { reason: 'not run: interrupted' }),
        ],
      }),
    );
    expect(lineWith(text, '**Result**')).toBe('**Result**: interrupted by SIGINT');
    expect(lineWith(text, 'Apply patch image (')).toBe('- [ ] Apply patch image (800ms) — interrupted');
    expect(lineWith(text, 'Rollout finished')).toBe('- [ ] Rollout finished — not run: interrupted');
    expect(text).toContain('- [ ] The run was interrupted: check the state the system was left in');
    expect(text).toContain('- [ ] Look at Apply patch image: full output in `o/apply.log`');
  });

  it.each([
    [130, 'SIGINT'],
    [143, 'SIGTERM'],
    [129, 'SIGHUP'],
    [137, 'SIGKILL'],
    [1, undefined],
    [128, undefined],
    [250, undefined],
  ])('signalOfExit(%i) is %s', (code, name) => expect(signalOfExit(code)).toBe(name));

  it('an interrupted run names its signal; rollbacks a second signal skipped are listed and left to a person', () => {
    const text = formatLogEntry(
      run({
        status: 'interrupted',
        exitCode: 143,
        steps: [step('apply', 'Apply patch image', 'passed'), step('drain', 'Drain node-3', 'interrupted', { reason: 'interrupted' })],
        rollbacks: [
          { qid: 'scale', name: 'Scale down', ok: false, durationMs: 1000, reason: 'interrupted' },
          { qid: 'drain', name: 'Drain node-3', ok: true, durationMs: 1200 },
          { qid: 'apply', name: 'Apply patch image', ok: false, durationMs: 0, reason: 'skipped: interrupted again', skipped: true },
        ],
      }),
    );
    expect(lineWith(text, '**Result**')).toBe('**Result**: interrupted by SIGTERM, a rollback skipped');
    expect(lineWith(text, '- [ ] Apply patch image —')).toBe('- [ ] Apply patch image — rollback skipped: interrupted again');
    expect(lineWith(text, '- [ ] Scale down (')).toBe('- [ ] Scale down (1.0s) — rollback interrupted');
    expect(lineWith(text, '- [x] Drain node-3 (')).toBe('- [x] Drain node-3 (1.2s)');
    expect(text).toContain('- [ ] Undo Apply patch image by hand: its rollback was skipped');
    expect(text).toContain('- [ ] Check Scale down by hand: its rollback did not finish');
    expect(text).not.toContain('Check Drain');
    expect(text).not.toContain('rollback failed');
  });

  it('a run recovered after maint died: who stopped, the step that was running, and what the duration runs to', () => {
    const text = formatLogEntry(
      run({
        status: 'interrupted',
        exitCode: 137,
        durationMs: 12_000,
        steps: [
          step('apply', 'Apply patch image', 'passed'),
          step('drain', 'Drain node-3', 'interrupted', { durationMs: 11_000, reason: 'running when maint stopped', outputFile: 'o/drain.log' }),
        ],
        recovered: { pid: 4242, lastSeenAt: START + 12_000, lastSeen: 'output of Drain node-3' },
      }),
    );
    expect(lineWith(text, '**Result**')).toBe(
      '**Result**: interrupted: maint (pid 4242) stopped without recording the end (killed, out of memory, or the machine went down); recorded by a later maint command',
    );
    expect(lineWith(text, '**Duration**')).toBe('**Duration**: 12.0s, to the last sign of life in the journal (output of Drain node-3, 02:00:13 UTC)  ');
    expect(lineWith(text, 'Drain node-3 (')).toBe('- [ ] Drain node-3 (11.0s) — interrupted: running when maint stopped');
    expect(text).toContain('- [ ] Look at Drain node-3: full output in `o/drain.log`');
  });

  it('a resumed run names the run it resumes; CI runs carry their pipeline URL', () => {
    const text = formatLogEntry(run({ resumedFrom: '20261122T020001Z-aaaaaa', via: 'CI', ciUrl: 'https://ci.example/p/42' }));
    expect(text).toContain('**Run**: 20261123T020001Z-3f9a1c (`maint run weekly`)  \n**Resumes**: 20261122T020001Z-aaaaaa  \n');
    expect(lineWith(text, '**Performed by**')).toBe('**Performed by**: ops@bastion-1 (CI) https://ci.example/p/42  ');
    expect(formatLogEntry(run())).not.toContain('**Resumes**');
  });

  it('DR objectives: met and missed', () => {
    const met = formatLogEntry(run(), { dr: { rtoMs: 65_000, rpoMs: 1_200_000, objectives: { rtoMs: 4 * 3_600_000, rpoMs: 3_600_000 }, met: true } });
    expect(lineWith(met, '**DR objectives**')).toBe('**DR objectives**: RTO 1m05s (target 4h) met; RPO 20m (target 1h) met');
    expect(met).toContain('**Follow-up actions**: None');

    const missed = formatLogEntry(run(), { dr: { rtoMs: 5 * 3_600_000, rpoMs: 1_200_000, objectives: { rtoMs: 4 * 3_600_000, rpoMs: 3_600_000 }, met: false } });
    expect(lineWith(missed, '**DR objectives**')).toBe('**DR objectives**: RTO 5h (target 4h) MISSED; RPO 20m (target 1h) met');
    expect(missed).toContain('- [ ] DR objectives missed');

    const unmeasured = formatLogEntry(run(), { dr: { objectives: { rtoMs: 30_000 }, met: false } });
    expect(lineWith(unmeasured, '**DR objectives**')).toBe('**DR objectives**: RTO not measured (target 30s) — MISSED');
    expect(formatLogEntry(run())).not.toContain('DR objectives');
  });

  it('escapes a nasty step name: no line breaks, no stray code span, no heading, no HTML', () => {
    const nasty = 'Fix `prod\n## Owned\r\n- [x] <img src=x onerror=alert(1)> *all* __done__\u001b[31m red';
    const text = formatLogEntry(run({ steps: [step('x', nasty, 'failed', { reason: 'bad `thing\nsecond line' })], status: 'failed', exitCode: 1 }));
    const line = lineWith(text, 'Fix');
    expect(line).toBe('- [ ] Fix \\`prod ## Owned - [x] \\<img src=x onerror=alert(1)> \\*all\\* \\_\\_done\\_\\_ red (800ms) — failed: bad \\`thing second line');
    // No line of the entry starts with anything the name injected.
    expect(text.split('\n').filter((l) => /^(#|- \[x\] <|- \[x\] \\<)/.test(l))).toEqual(['## 2026-11-23: Weekly maintenance']);
    expect(text).not.toContain('\u001b');
  });

  it('keeps backticks that pair up (and their content) but escapes those that do not', () => {
    const text = formatLogEntry(
      run({ status: 'failed', exitCode: 1, steps: [step('a', 'Run `rm *.tmp` in disk_use', 'failed', { reason: 'command ``a`b`` not found' })] }),
    );
    expect(lineWith(text, 'disk_use')).toBe('- [ ] Run `rm *.tmp` in disk_use (800ms) — failed: command ``a`b`` not found');
  });

  it('puts commands with backticks in a longer fence', () => {
    const text = formatLogEntry(run({ runbook: 'we`ird', runId: 'r1', status: 'paused', pausedAt: 'p', steps: [step('p', 'P', 'paused')] }));
    expect(lineWith(text, '**Run**')).toBe('**Run**: r1 (``maint run we`ird``)  ');
  });

  it('cuts a long reason to about 300 characters with "…"', () => {
    const long = 'x'.repeat(5000);
    const text = formatLogEntry(run({ status: 'failed', exitCode: 1, steps: [step('a', 'A', 'failed', { reason: long })] }));
    const reason = lineWith(text, '- [ ] A').split(' — failed: ')[1]!;
    expect(reason).toBe('x'.repeat(REASON_MAX - 1) + '…');
    expect(text.length).toBeLessThan(1000);
  });

  it('nests an include\'s steps under the include, even when the group is recorded after them', () => {
    const text = formatLogEntry(
      run({
        steps: [
          step('pre', 'Pre', 'passed'),
          step('db.dump', 'Dump', 'passed'),
          step('db.inner.check', 'Check', 'passed'),
          step('db.inner', 'Inner', 'passed'),
          step('db.tidy', 'Tidy', 'passed', { phase: 'finally' }),
          step('db', 'Database', 'passed'),
          step('post', 'Post', 'passed'),
        ],
      }),
    );
    expect(text).toContain(
      [
        '- [x] Pre (800ms)',
        '- [x] Database (800ms)',
        '  - [x] Dump (800ms)',
        '  - [x] Inner (800ms)',
        '    - [x] Check (800ms)',
        '  - [x] finally: Tidy (800ms)',
        '- [x] Post (800ms)',
        '',
      ].join('\n'),
    );
    expect(text).not.toContain('**Finally**');
  });
});
