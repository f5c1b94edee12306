import { describe, expect, it } from 'vitest';
import type { RunEvent, StepStatus } from '../../../src/exec/events.js';
import type { Plan } from '../../../src/plan/types.js';
import { drTargets, failedOnDr, formatDr, measureDr, measuring, toEpochMs, type DrTargets } from '../../../src/record/dr.js';
import { formatLogEntry } from '../../../src/record/log-entry.js';
import type { RunRecord } from '../../../src/record/types.js';

type StepEnd = Extract<RunEvent, { type: 'step:end' }>;

const T0 = Date.UTC(2026, 10, 23, 2, 0, 0);
const HOUR = 3_600_000;

function end(qid: string, at: number, more: Partial<StepEnd> = {}): StepEnd {
  const status: StepStatus = more.status ?? 'passed';
  return { type: 'step:end', time: T0 + at, qid, name: qid, phase: 'steps', status, durationMs: 10, attempts: 1, ...more };
}

/** backup → outage (disaster) → restore → verify, as top-level steps. */
const targets = (objectives: DrTargets['objectives'] = { rtoMs: 4 * HOUR, rpoMs: HOUR }): DrTargets => ({
  objectives,
  disaster: 'outage',
  topLevel: ['backup', 'outage', 'restore', 'verify'],
  disasterAt: 1,
});

/** The outage ends at T0 + 1s, the restore at +61s, the check at +75s; `undefined`: no recovery point. */
const drill = (recoveryPoint: unknown): StepEnd[] => [
  end('backup', 500),
  end('outage', 1000),
  end('restore', 61_000, recoveryPoint === undefined ? {} : { outputs: { recovery_point: recoveryPoint } }),
  end('verify', 75_000),
];

describe('measureDr', () => {
  it('both objectives met: RTO from the disaster to the last step, RPO from an ISO recovery point', () => {
    const point = new Date(T0 + 1000 - 20 * 60_000).toISOString(); // 20 minutes before the outage
    const dr = measureDr(targets(), drill(point), 'passed');
    expect(dr).toEqual({ objectives: { rtoMs: 4 * HOUR, rpoMs: HOUR }, rtoMs: 74_000, rpoMs: 20 * 60_000, met: true });
  });

  it('recovery_point as unix seconds (number or digits), with a zone offset, or without a zone (UTC)', () => {
    const secs = (T0 + 1000 - 90_000) / 1000; // 90 s before the outage
    expect(measureDr(targets(), drill(secs), 'passed').rpoMs).toBe(90_000);
    expect(measureDr(targets(), drill(String(secs)), 'passed').rpoMs).toBe(90_000);
    // 01:30:01 at +01:00 is 00:30:01 UTC: 1h30m before the outage at 02:00:01 UTC → missed
    const offset = measureDr(targets(), drill('2026-11-23T01:30:01.000000000+01:00'), 'passed');
    expect(offset.rpoMs).toBe(90 * 60_000);
    expect(offset.met).toBe(false);
    expect(measureDr(targets(), drill('2026-11-23 01:59:01'), 'passed').rpoMs).toBe(60_000);
  });

  it('missed RTO', () => {
    const dr = measureDr(targets({ rtoMs: 60_000 }), drill(undefined), 'passed');
    expect(dr.rtoMs).toBe(74_000);
    expect(dr.met).toBe(false);
    expect(dr.missing).toBeUndefined();
    expect(formatDr(dr)).toBe('RTO 1m14s (objective 1m) MISSED');
  });

  it('missed RPO', () => {
    const point = new Date(T0 + 1000 - 2 * HOUR).toISOString();
    const dr = measureDr(targets(), drill(point), 'passed');
    expect(dr).toMatchObject({ rtoMs: 74_000, rpoMs: 2 * HOUR, met: false });
    expect(formatDr(dr)).toBe('RTO 1m14s (objective 4h) met · RPO 2h (objective 1h) MISSED');
  });

  it('no disaster step ran: not measured, missed, with the reason', () => {
    const ends = [end('backup', 500), end('outage', 600, { status: 'skipped', reason: 'when: false' }), end('restore', 900), end('verify', 1000)];
    const dr = measureDr(targets(), ends, 'passed');
    expect(dr.rtoMs).toBeUndefined();
    expect(dr.rpoMs).toBeUndefined();
    expect(dr.met).toBe(false);
    expect(dr.missing).toContain('the disaster step outage did not run (when: false)');
    const none = measureDr({ ...targets(), disaster: undefined, disasterAt: -1 }, drill(undefined), 'passed');
    expect(none.missing).toContain('no step is marked `disaster: true`');
  });

  it('no recovery_point: RPO not measured (missed when there is an RPO objective, fine without one)', () => {
    const dr = measureDr(targets(), drill(undefined), 'passed');
    expect(dr).toMatchObject({ rtoMs: 74_000, met: false, missing: 'no step declared the output `recovery_point`' });
    expect(dr.rpoMs).toBeUndefined();
    expect(formatDr(dr)).toBe('RTO 1m14s (objective 4h) met · RPO not measured (objective 1h) — objectives MISSED: no step declared the output `recovery_point`');
    expect(measureDr(targets({ rtoMs: 4 * HOUR }), drill(undefined), 'passed')).toEqual({ objectives: { rtoMs: 4 * HOUR }, rtoMs: 74_000, met: true });
  });

  it('a recovery point that is not a timestamp, or after the disaster, is not counted', () => {
    expect(measureDr(targets(), drill('yesterday'), 'passed')).toMatchObject({ met: false, missing: 'recovery_point of restore is not a timestamp: "yesterday"' });
    const later = measureDr(targets(), drill(new Date(T0 + 5000).toISOString()), 'passed');
    expect(later.rpoMs).toBeUndefined();
    expect(later.missing).toBe('recovery_point 2026-11-23T02:00:05.000Z is after the disaster (2026-11-23T02:00:01.000Z)');
  });

  it('a run that failed before recovery was verified: no RTO, never met', () => {
    const ends = [end('backup', 500), end('outage', 1000), end('restore', 5000, { status: 'failed' }), end('verify', 5000, { status: 'skipped' })];
    const dr = measureDr(targets({ rtoMs: 4 * HOUR }), ends, 'failed');
    expect(dr).toMatchObject({ met: false, missing: 'the run failed before service was verified back' });
    expect(dr.rtoMs).toBeUndefined();
  });

  it('the disaster as the last step that ran: nothing to measure the recovery by', () => {
    const ends = [end('backup', 500), end('outage', 1000), end('restore', 1000, { status: 'skipped' }), end('verify', 1000, { status: 'skipped' })];
    expect(measureDr(targets({ rtoMs: HOUR }), ends, 'passed')).toMatchObject({ met: false, missing: 'no step ran after the disaster step' });
  });
});

describe('toEpochMs', () => {
  it('accepts Dates, ISO strings and unix seconds; nothing else', () => {
    expect(toEpochMs(new Date(T0))).toBe(T0);
    expect(toEpochMs('2026-11-23T02:00:00Z')).toBe(T0);
    expect(toEpochMs('2026-11-23T02:00:00.250Z')).toBe(T0 + 250);
    expect(toEpochMs('2026-11-23 04:00:00+02')).toBe(T0);
    expect(toEpochMs(T0 / 1000)).toBe(T0);
    expect(toEpochMs(BigInt(T0 / 1000))).toBe(T0);
    for (const bad of ['', 'now', '2026-13-01T00:00:00Z', null, true, {}, Number.NaN]) expect(toEpochMs(bad)).toBeUndefined();
  });
});

describe('a recovery point a Date cannot hold is not a timestamp, never a throw', () => {
  const MAX = 8_640_000_000_000; // seconds: the last second a Date can hold
  it.each<[string, unknown, number | undefined]>([
    ['the last second a Date holds (number)', MAX, MAX * 1000],
    ['the last second a Date holds (digits)', String(MAX), MAX * 1000],
    ['one second later (number)', MAX + 1, undefined],
    ['one second later (digits)', String(MAX + 1), undefined],
    ['microseconds, as `date +%s%6N` prints', '1795924800000000', undefined],
    ['digits beyond a double', '9'.repeat(400), undefined],
    ['bigint beyond a Date', BigInt(MAX) + 1n, undefined],
  ])('%s', (_name, value, ms) => {
    expect(toEpochMs(value)).toBe(ms);
  });

  it.each([
    ['one second past the last', '8640000000001'],
    ['microseconds', '1795924800000000'],
    ['400 nines', '9'.repeat(400)],
  ])('measureDr with recovery_point of %s: RPO not measured, missed, with the reason', (_name, value) => {
    const dr = measureDr(targets(), drill(value), 'passed');
    expect(dr.rpoMs).toBeUndefined();
    expect(dr.met).toBe(false);
    expect(dr.missing).toBe(`recovery_point of restore is not a timestamp: ${JSON.stringify(value)}`);
  });
});

describe('drTargets and measuring', () => {
  const step = (qid: string, more: object = {}) => ({ qid, id: qid, kind: 'command', disaster: false, ...more });
  const plan = (objectives?: Plan['objectives']) =>
    ({
      objectives,
      steps: [step('backup'), { ...step('drill'), kind: 'include', children: [step('drill.outage', { disaster: true })], finally: [] }, step('verify')],
    }) as unknown as Plan;

  it('finds the disaster step inside an include, and the top-level step holding it', () => {
    expect(drTargets(plan())).toBeUndefined();
    expect(drTargets(plan({ rtoMs: 1000 }))).toEqual({ objectives: { rtoMs: 1000 }, disaster: 'drill.outage', topLevel: ['backup', 'drill', 'verify'], disasterAt: 1 });
  });

  it('sends a dr event before run:end and fails a passed run that missed (exit 1); a paused run is not measured', () => {
    const seen: RunEvent[] = [];
    const emit = measuring(targets({ rtoMs: 10_000 }), (e) => seen.push(e));
    for (const e of drill(undefined)) emit(e);
    emit({ type: 'run:end', time: T0 + 76_000, status: 'passed', exitCode: 0, durationMs: 76_000 });
    expect(seen.map((e) => e.type).slice(-2)).toEqual(['dr', 'run:end']);
    expect(seen.at(-2)).toMatchObject({ type: 'dr', dr: { rtoMs: 74_000, met: false } });
    expect(seen.at(-1)).toMatchObject({ type: 'run:end', status: 'failed', exitCode: 1 });

    const paused: RunEvent[] = [];
    const emit2 = measuring(targets(), (e) => paused.push(e));
    emit2({ type: 'run:end', time: T0, status: 'paused', exitCode: 5, durationMs: 0, pausedAt: 'restore' });
    expect(paused).toEqual([{ type: 'run:end', time: T0, status: 'paused', exitCode: 5, durationMs: 0, pausedAt: 'restore' }]);
  });
});

describe('the record says so', () => {
  const record = (dr: RunRecord['dr'], status: RunRecord['status'] = 'failed'): RunRecord => ({
    runId: '20261123T020001Z-3f9a1c', runbook: 'dr-test', title: 'DR test', by: 'ops@bastion-1', via: 'cron', startedAt: T0,
    durationMs: 76_000, status, exitCode: status === 'passed' ? 0 : 1, rollbacks: [], dr,
    steps: [{ qid: 'outage', name: 'Outage', phase: 'steps', status: 'passed', durationMs: 10, attempts: 1 }],
  });

  it('a run failed only by its objectives reads "failed: DR objectives missed", with the reason', () => {
    const missed = { objectives: { rtoMs: HOUR, rpoMs: HOUR }, rtoMs: 60_000, met: false, missing: 'no step declared the output `recovery_point`' };
    expect(failedOnDr(record(missed))).toBe(true);
    const entry = formatLogEntry(record(missed));
    expect(entry).toContain('**Result**: failed: DR objectives missed');
    expect(entry).toContain('**DR objectives**: RTO 1m (target 1h) met; RPO not measured (target 1h) — MISSED: no step declared the output `recovery_point`');
    expect(entry).toContain('- [ ] DR objectives missed');
    const met = { objectives: { rtoMs: HOUR }, rtoMs: 60_000, met: true };
    expect(failedOnDr(record(met, 'passed'))).toBe(false);
    expect(formatLogEntry(record(met, 'passed'))).toContain('**Result**: passed  \n**DR objectives**: RTO 1m (target 1h) met\n');
  });
});
