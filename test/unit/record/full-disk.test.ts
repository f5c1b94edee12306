/**
 * A disk that fills mid-run, end to end in-process: the executor with a scripted runner, the
 * journal writing into /dev/full (every write fails with ENOSPC). The run must still end, roll
 * back, and its log entry say what was not written.
 */
import { existsSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execute, type ExecOptions } from '../../../src/exec/executor.js';
import type { Runner, SpawnRequest, SpawnResult } from '../../../src/exec/runner.js';
import { buildPlan } from '../../../src/plan/plan.js';
import { JournalWriter, runsDir } from '../../../src/record/journal.js';
import { formatLogEntry } from '../../../src/record/log-entry.js';
import { tryAppendLogEntry } from '../../../src/record/log-file.js';
import { applyEvent, emptyRecord } from '../../../src/record/summary.js';
import { parseRunbook } from '../../../src/runbook/parse.js';

const calls: string[] = [];
const runner: Runner = async (req: SpawnRequest): Promise<SpawnResult> => {
  const script = req.command.kind === 'shell' ? req.command.script : req.command.argv.join(' ');
  calls.push(script);
  req.onOutput?.('stdout', `${script} says hi\n`);
  return { exitCode: script === 'do-b' ? 1 : 0, signal: null, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, timedOut: false, aborted: false, durationMs: 1 };
};

describe.skipIf(!existsSync('/dev/full'))('a full disk mid-run', () => {
  it('the run ends and rolls back; the entry lists what the journal lost; the log failure is said, not thrown', async () => {
    const { runbook } = parseRunbook('t.yaml', 'steps:\n  - { name: a, id: a, run: do-a, rollback: undo-a }\n  - { name: b, id: b, run: do-b }\n');
    const plan = buildPlan({ root: runbook!, runbooks: new Map(), sources: { explicit: {}, file: {}, env: {}, config: {} } }).plan!;
    const state = mkdtempSync(join(tmpdir(), 'maint-full-'));
    const runId = '20261205T020000Z-f00d00';
    const dir = join(runsDir(state), runId);
    mkdirSync(join(dir, 'steps'), { recursive: true });
    // The disk fills after the run started: the journal's files are on a device that takes no bytes.
    symlinkSync('/dev/full', join(dir, 'events.ndjson'));
    symlinkSync('/dev/full', join(dir, 'steps', 'a.log'));
    const journal = new JournalWriter(state, {
      runId, runbook: 't', title: 'T', file: 't.yaml', cwd: state, pid: process.pid, host: hostname(), by: 'ops@h', via: 'cron',
      startedAt: Date.now(), status: 'running', flags: { var: [], log: '/dev/full' },
    }, undefined, () => {});
    const record = emptyRecord({ by: 'ops@h', via: 'cron' }, { runId, runbook: 't', title: 'T', time: Date.now() });
    // Unattended: nothing is asked (the fields cover the executor's interaction before and after `confirm`).
    const never = async (): Promise<never> => {
      throw new Error('must not ask');
    };
    const interaction = { interactive: false, yes: false, ask: never, confirm: never, who: 'ops@h' } as ExecOptions['interaction'];
    const result = await execute(plan, {
      runner, runId, env: {}, interaction, sleep: async () => {},
      emit: (e) => {
        journal.handle(e);
        applyEvent(record, e);
      },
    });
    expect(result.status).toBe('failed');
    expect(calls).toEqual(['do-a', 'do-b', 'undo-a']);
    expect(journal.problems).toHaveLength(2);
    expect(journal.problems[0]).toMatch(/events\.ndjson not written from \d\d:\d\d:\d\d UTC on: no space left on the device/);
    expect(journal.problems[1]).toMatch(/steps\/a\.log not written: no space left on the device/);
    // What the session does with them: notices in the entry, and the log's own failure said.
    record.notices = journal.problems;
    const entry = formatLogEntry(record);
    expect(entry).toMatch(/\*\*Result\*\*: failed, rolled back/);
    expect(entry).toMatch(/Issues encountered[\s\S]*events\.ndjson not written/);
    expect(await tryAppendLogEntry('/dev/full', entry)).toBe('log entry not written to /dev/full: no space left on the device of /dev/full');
  });
});
