import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listRunDirs, readMetaFile, runsDir, writeMetaFile, type RunMetaFile } from '../../../src/record/journal.js';
import { runMetaProblem } from '../../../src/record/run-meta-shape.js';

const T = Date.UTC(2026, 10, 23, 2);
const meta = (more: object = {}): RunMetaFile => ({
  runId: '20261123T020000Z-aaaaaa', runbook: 'ok', title: 'Ok', file: '/rb/ok.yaml', cwd: '/rb', pid: 1234, host: 'h',
  by: 'ops@h', via: 'cron', startedAt: T, status: 'passed', exitCode: 0, durationMs: 12, flags: { var: [], log: 'maintenance-log.md' },
  ...more,
});

describe('runMetaProblem', () => {
  it.each<[string, unknown, string | undefined]>([
    ['what maint writes', meta(), undefined],
    ['a refused run with its reason', meta({ status: 'refused', exitCode: 2, reason: 'x.yaml:1:1: bad' }), undefined],
    ['a DR run', meta({ dr: { objectives: { rtoMs: 3_600_000 }, rtoMs: 5, met: true } }), undefined],
    ['an array', [], 'not a JSON object'],
    ['null', null, 'not a JSON object'],
    ['a string', 'x', 'not a JSON object'],
    ['only a numeric runId', { runId: 5 }, 'runId is not what maint writes: 5'],
    ['no runId', meta({ runId: undefined }), 'runId is missing'],
    ['startedAt a string', meta({ startedAt: 'today' }), 'startedAt is not what maint writes: "today"'],
    ['startedAt beyond a Date', meta({ startedAt: 8.64e15 + 1 }), 'startedAt is not what maint writes: 8640000000000001'],
    ['an unknown status', meta({ status: 'exploded' }), 'status is not what maint writes: "exploded"'],
    ['pid -1', meta({ pid: -1 }), 'pid is not what maint writes: -1'],
    ['runbook a number', meta({ runbook: 7 }), 'runbook is not what maint writes: 7'],
    ['no flags', meta({ flags: undefined }), 'flags is missing'],
    ['flags.var not strings', meta({ flags: { var: [1], log: 'l' } }), 'flags is not what maint writes: {"var":[1],"log":"l"}'],
    ['dr without met', meta({ dr: { objectives: {} } }), 'dr is not what maint writes: {"objectives":{}}'],
    ['durationMs negative', meta({ durationMs: -1 }), 'durationMs is not what maint writes: -1'],
  ])('%s', (_name, value, problem) => {
    expect(runMetaProblem(value)).toBe(problem);
  });
});

describe('a run.json of another shape is not a run, like a truncated one', () => {
  function stateWith(bad: string): { state: string; good: RunMetaFile } {
    const state = mkdtempSync(join(tmpdir(), 'maint-meta-'));
    const good = meta();
    for (const [id, write] of [
      [good.runId, (dir: string) => writeMetaFile(dir, good)],
      ['20261123T030000Z-bbbbbb', (dir: string) => writeFileSync(join(dir, 'run.json'), bad)],
    ] as const) {
      const dir = join(runsDir(state), id);
      mkdirSync(dir, { recursive: true });
      write(dir);
    }
    return { state, good };
  }

  it.each(['[]', '{"runId":5}', 'null', '"x"', '{"runId":"20261123T030000Z-bbbbbb"}', '{"runId":"a","startedAt":"b"}', '{"runId":"a","startedAt":1,"status":', ''])(
    'run.json %s: listRunDirs skips it, readMetaFile gives null',
    (bad) => {
      const { state, good } = stateWith(bad);
      expect(listRunDirs(state).map((r) => r.meta)).toEqual([good]);
      expect(readMetaFile(join(runsDir(state), '20261123T030000Z-bbbbbb'))).toBeNull();
    },
  );
});
