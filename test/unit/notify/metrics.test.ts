import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunRecord, StepRecord } from '../../../src/record/types.js';
import {
  escapeLabelValue,
  ExpositionError,
  METRICS,
  parseExposition,
  parseExpositionLine,
  renderMetrics,
  writeMetrics,
  type Exposition,
} from '../../../src/notify/metrics.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'maint-metrics-'));
  file = join(dir, 'maint.prom');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const T1 = Date.UTC(2026, 10, 23, 2, 0, 0);
const T2 = Date.UTC(2026, 10, 30, 2, 0, 0);

function step(qid: string, status: StepRecord['status'], more: Partial<StepRecord> = {}): StepRecord {
  return { qid, name: qid, phase: 'steps', status, durationMs: 100, attempts: 1, ...more };
}

function run(more: Partial<RunRecord> = {}): RunRecord {
  return {
    runId: 'r1',
    runbook: 'weekly',
    title: 'Weekly',
    by: 'ops@host',
    via: 'cron',
    startedAt: T1,
    durationMs: 12_500,
    status: 'passed',
    exitCode: 0,
    steps: [step('a', 'passed')],
    rollbacks: [],
    ...more,
  };
}

const failed = (more: Partial<RunRecord> = {}) =>
  run({
    startedAt: T2,
    durationMs: 3_000,
    status: 'failed',
    exitCode: 1,
    steps: [step('a', 'passed'), step('b', 'issue', { reason: 'x' }), step('c', 'failed', { reason: 'exit code 1' })],
    ...more,
  });

/** The file parsed (fails the test when it is not valid exposition format). */
function read(): Exposition {
  return parseExposition(readFileSync(file, 'utf8'));
}

/** Value of `name{runbook=…}`, undefined when absent. */
function value(e: Exposition, name: string, runbook: string): number | undefined {
  const hits = e.samples.filter((s) => s.name === name && s.labels.runbook === runbook);
  expect(hits.length).toBeLessThanOrEqual(1);
  return hits[0]?.value;
}

describe('writeMetrics', () => {
  it('writes every metric with HELP and TYPE, valid exposition format, mode 0644', async () => {
    // A strict umask shows the mode is set, not inherited. Worker threads (the mutation runner's
    // pool) cannot change the umask: there the default one applies.
    const old = isMainThread ? process.umask(0o077) : undefined;
    try {
      expect(await writeMetrics(file, run())).toEqual({ file, ok: true });
    } finally {
      if (old !== undefined) process.umask(old);
    }
    expect(statSync(file).mode & 0o777).toBe(0o644);
    const e = read();
    const end = (T1 + 12_500) / 1000;
    expect(value(e, 'maint_last_run_timestamp_seconds', 'weekly')).toBe(end);
    expect(value(e, 'maint_last_success_timestamp_seconds', 'weekly')).toBe(end);
    expect(value(e, 'maint_last_run_duration_seconds', 'weekly')).toBe(12.5);
    expect(value(e, 'maint_last_run_exit_code', 'weekly')).toBe(0);
    expect(value(e, 'maint_last_run_steps_failed', 'weekly')).toBe(0);
    expect(value(e, 'maint_last_run_success', 'weekly')).toBe(1);
    expect(value(e, 'maint_dr_rto_seconds', 'weekly')).toBeUndefined();
    for (const name of Object.keys(METRICS).filter((n) => !n.startsWith('maint_dr_'))) {
      expect(e.types.get(name)).toBe('gauge');
      expect(e.help.get(name)).toBeTruthy();
    }
    expect(readFileSync(file, 'utf8')).not.toMatch(/\} \S+ \S+$/m); // no timestamps: the textfile collector rejects them
  });

  it('keeps runbooks side by side and replaces only the one that ran', async () => {
    await writeMetrics(file, run({ runbook: 'weekly' }));
    await writeMetrics(file, run({ runbook: 'db-backup', exitCode: 0, durationMs: 60_000 }));
    await writeMetrics(file, failed({ runbook: 'weekly' }));
    const e = read();
    expect(value(e, 'maint_last_run_duration_seconds', 'db-backup')).toBe(60);
    expect(value(e, 'maint_last_run_success', 'db-backup')).toBe(1);
    expect(value(e, 'maint_last_run_duration_seconds', 'weekly')).toBe(3);
    expect(value(e, 'maint_last_run_success', 'weekly')).toBe(0);
    // One series per runbook per metric, runbooks sorted.
    expect(e.samples.filter((s) => s.name === 'maint_last_run_exit_code').map((s) => s.labels.runbook)).toEqual(['db-backup', 'weekly']);
  });

  it('keeps the last success across a failed run', async () => {
    await writeMetrics(file, run());
    await writeMetrics(file, failed());
    const e = read();
    expect(value(e, 'maint_last_success_timestamp_seconds', 'weekly')).toBe((T1 + 12_500) / 1000);
    expect(value(e, 'maint_last_run_timestamp_seconds', 'weekly')).toBe((T2 + 3_000) / 1000);
    expect(value(e, 'maint_last_run_exit_code', 'weekly')).toBe(1);
    expect(value(e, 'maint_last_run_steps_failed', 'weekly')).toBe(2);
    expect(value(e, 'maint_last_run_success', 'weekly')).toBe(0);
  });

  it('writes 0 as the last success of a runbook that never passed', async () => {
    await writeMetrics(file, failed({ status: 'rollback_failed', exitCode: 3 }));
    const e = read();
    expect(value(e, 'maint_last_success_timestamp_seconds', 'weekly')).toBe(0);
    expect(value(e, 'maint_last_run_exit_code', 'weekly')).toBe(3);
  });

  it('writes DR measurements, keeps them across plain runs, drops an unmeasured one', async () => {
    await writeMetrics(file, run({ runbook: 'dr' }), { dr: { rtoSeconds: 1260, rpoSeconds: 300.5 } });
    let e = read();
    expect(value(e, 'maint_dr_rto_seconds', 'dr')).toBe(1260);
    expect(value(e, 'maint_dr_rpo_seconds', 'dr')).toBe(300.5);
    expect(e.types.get('maint_dr_rto_seconds')).toBe('gauge');

    await writeMetrics(file, run({ runbook: 'dr' }));
    e = read();
    expect(value(e, 'maint_dr_rto_seconds', 'dr')).toBe(1260);

    await writeMetrics(file, failed({ runbook: 'dr' }), { dr: { rtoSeconds: 2000 } });
    e = read();
    expect(value(e, 'maint_dr_rto_seconds', 'dr')).toBe(2000);
    expect(value(e, 'maint_dr_rpo_seconds', 'dr')).toBeUndefined();
  });

  it('escapes label values so any runbook name round-trips', async () => {
    const odd = 'back\\slash "quoted"\nnewline';
    await writeMetrics(file, run({ runbook: odd }));
    await writeMetrics(file, run({ runbook: 'plain' }));
    await writeMetrics(file, failed({ runbook: odd }));
    expect(readFileSync(file, 'utf8')).toContain(`{runbook="back\\\\slash \\"quoted\\"\\nnewline"}`);
    const e = read();
    expect(value(e, 'maint_last_run_success', odd)).toBe(0);
    expect(value(e, 'maint_last_success_timestamp_seconds', odd)).toBe((T1 + 12_500) / 1000);
    expect(value(e, 'maint_last_run_success', 'plain')).toBe(1);
  });

  it('replaces the file by rename and leaves no temporary or lock file', async () => {
    await writeMetrics(file, run());
    const ino = statSync(file).ino;
    await writeMetrics(file, failed());
    expect(statSync(file).ino).not.toBe(ino); // a new file renamed over the old one, not rewritten in place
    expect(readdirSync(dir)).toEqual(['maint.prom']);
  });

  it('loses no runbook when many runs end at once', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `rb-${String(i).padStart(2, '0')}`);
    const results = await Promise.all(names.map((runbook) => writeMetrics(file, run({ runbook }))));
    expect(results.every((r) => r.ok)).toBe(true);
    const e = read();
    expect(e.samples.filter((s) => s.name === 'maint_last_run_success').map((s) => s.labels.runbook)).toEqual(names);
    expect(readdirSync(dir)).toEqual(['maint.prom']);
  });

  it('drops invalid lines and foreign samples of the existing file, keeps the valid ones', async () => {
    writeFileSync(
      file,
      [
        '# HELP maint_last_run_success 1 when the last run passed, else 0.',
        '# TYPE maint_last_run_success gauge',
        'maint_last_run_success{runbook="other"} 1',
        'maint_last_run_success{runbook="broken} 1',
        'garbage line here',
        'some_other_metric 5',
        'maint_last_run_success 1',
        '',
      ].join('\n'),
    );
    expect((await writeMetrics(file, run())).ok).toBe(true);
    const e = read();
    expect(value(e, 'maint_last_run_success', 'other')).toBe(1);
    expect(value(e, 'maint_last_run_success', 'weekly')).toBe(1);
    expect(e.samples.some((s) => s.name === 'some_other_metric' || s.labels.runbook === undefined)).toBe(false);
  });

  it('reports an unwritable place instead of throwing', async () => {
    const res = await writeMetrics(join(dir, 'missing', 'maint.prom'), run());
    expect(res.ok).toBe(false);
    expect(res.error).toMatch(/ENOENT/);
    const isDir = await writeMetrics(dir, run()); // a folder where the file should be
    expect(isDir.ok).toBe(false);
    expect(isDir.error).toMatch(/is not a plain file/);
  });

  it('never reads or replaces what is not a plain file: a symlink, a FIFO', async () => {
    const target = join(dir, 'elsewhere');
    writeFileSync(target, 'keep me\n');
    const link = join(dir, 'link.prom');
    symlinkSync(target, link);
    const viaLink = await writeMetrics(link, run());
    expect(viaLink).toMatchObject({ ok: false, error: expect.stringMatching(/not a plain file/) });
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('keep me\n');
    const fifo = join(dir, 'fifo.prom');
    execFileSync('mkfifo', [fifo]);
    expect(await writeMetrics(fifo, run())).toMatchObject({ ok: false, error: expect.stringMatching(/not a plain file/) });
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('renders nothing from nothing but one run', () => {
    const text = renderMetrics(undefined, run());
    expect(parseExposition(text).samples).toHaveLength(6);
  });
});

describe('parseExposition', () => {
  it('accepts the format: labels, escapes, trailing comma, timestamps, special values, comments, histograms', () => {
    const text = [
      '# a comment',
      '# HELP http_requests_total Requests.\\nSecond line with a \\\\ backslash.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200",} 1027 1395066363000',
      'http_requests_total{method="get", code="400"} 3',
      '',
      'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
      'metric_without_timestamp_and_labels 12.47',
      'something_weird{problem="division by zero"} +Inf -3982045',
      'nan_metric NaN',
      '# TYPE http_request_duration_seconds histogram',
      'http_request_duration_seconds_bucket{le="0.05"} 24054',
      'http_request_duration_seconds_bucket{le="+Inf"} 144320',
      'http_request_duration_seconds_sum 53423',
      'http_request_duration_seconds_count 144320',
      'colon:name{a="b"}7',
      '',
    ].join('\n');
    const e = parseExposition(text);
    expect(e.help.get('http_requests_total')).toBe('Requests.\nSecond line with a \\ backslash.');
    expect(e.types.get('http_request_duration_seconds')).toBe('histogram');
    expect(e.samples[0]).toEqual({ name: 'http_requests_total', labels: { method: 'post', code: '200' }, value: 1027, timestamp: 1395066363000 });
    expect(e.samples[2]!.labels).toEqual({ path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' });
    expect(e.samples[4]!.value).toBe(Infinity);
    expect(e.samples[5]!.value).toBeNaN();
    expect(e.samples.at(-1)).toEqual({ name: 'colon:name', labels: { a: 'b' }, value: 7 });
  });

  it.each([
    ['a metric name starting with a digit', '1abc 1\n'],
    ['a dash in a metric name', 'my-metric 1\n'],
    ['a label name starting with a digit', 'm{1a="x"} 1\n'],
    ['an unknown escape in a label value', 'm{a="x\\ty"} 1\n'],
    ['an unterminated label value', 'm{a="x} 1\n'],
    ['an unquoted label value', 'm{a=x} 1\n'],
    ['a missing value', 'm{a="x"}\n'],
    ['a value that is not a number', 'm 1,5\n'],
    ['a fractional timestamp', 'm 1 12.5\n'],
    ['too many fields', 'm 1 2 3\n'],
    ['the same label twice', 'm{a="1",a="2"} 1\n'],
    ['an unknown type', '# TYPE m gauges\n'],
    ['an invalid name in HELP', '# HELP 9m help\n'],
    ['an invalid escape in HELP', '# HELP m a \\t tab\n'],
    ['a second TYPE line', '# TYPE m gauge\n# TYPE m gauge\nm 1\n'],
    ['a second HELP line', '# HELP m x\n# HELP m y\n'],
    ['TYPE after the samples', 'm 1\n# TYPE m gauge\n'],
    ['the same series twice', 'm{a="1"} 1\nm{a="1"} 2\n'],
    ['a metric split in two', 'm{a="1"} 1\nn 1\nm{a="2"} 2\n'],
    ['no final newline', 'm 1'],
  ])('rejects %s', (_what, text) => {
    expect(() => parseExposition(text)).toThrow(ExpositionError);
  });

  it('names the offending line', () => {
    expect(() => parseExposition('ok 1\n# comment\nbad{ 1\n')).toThrow(/^line 3: /);
  });

  it('parses single lines', () => {
    expect(parseExpositionLine('   ')).toEqual({ kind: 'blank' });
    expect(parseExpositionLine('# TYPE m gauge')).toEqual({ kind: 'type', name: 'm', type: 'gauge' });
    expect(parseExpositionLine('#just a note')).toEqual({ kind: 'comment', text: 'just a note' });
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
  });
});
