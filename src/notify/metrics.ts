/**
 * Prometheus metrics through node_exporter's textfile collector: one `.prom` file (config
 * `metrics:`) holding a set of gauges per runbook. Each run replaces its own runbook's samples
 * and keeps every other runbook's, so one file serves all runbooks.
 *
 * The file is rewritten atomically (a temporary file in the same folder, then rename), so the
 * collector never reads half a file; mode 0644 so node_exporter (another user) can read it. The
 * temporary file is `.<name>.<pid>.<random>.tmp` and the lock `<name>.lock`: neither ends in
 * `.prom`, so the collector never picks them up. A lock file serializes runs of different
 * runbooks that end together (each reads, merges and writes the whole file).
 *
 * No sample carries a timestamp: the textfile collector rejects them.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { assertReplaceable } from '../fs/replaceable.js';
import type { RunRecord } from '../record/types.js';
import { failedSteps } from './webhook.js';

// ---------------------------------------------------------------------------------------------
// The metrics

/** Every metric maint writes, in file order, with its HELP text. All are gauges. */
export const METRICS = {
  maint_last_run_timestamp_seconds: 'When the last run of the runbook ended, in Unix time.',
  maint_last_success_timestamp_seconds: 'When the last successful run of the runbook ended, in Unix time (0: none recorded).',
  maint_last_run_duration_seconds: 'How long the last run of the runbook took.',
  maint_last_run_exit_code: 'Exit code of the last run (0 passed, 1 failed, 3 rollback failed, 5 paused, 130/143 interrupted).',
  maint_last_run_steps_failed: 'Steps that failed in the last run, continue_on_error failures included.',
  maint_last_run_success: '1 when the last run passed, else 0.',
  maint_dr_rto_seconds: 'Recovery time (RTO) measured by the last DR test of the runbook: from the simulated outage to service verified back.',
  maint_dr_rpo_seconds: 'Recovery point (RPO) measured by the last DR test of the runbook: data lost, from the recovery point to the outage.',
} as const;
export type MetricName = keyof typeof METRICS;
const NAMES = Object.keys(METRICS) as MetricName[];
const DR_NAMES: readonly MetricName[] = ['maint_dr_rto_seconds', 'maint_dr_rpo_seconds'];

export interface MetricsOptions {
  /**
   * A DR test's measurements (default: the run's own `dr`); when neither is given, the
   * runbook's previous DR samples are kept.
   */
  dr?: { rtoSeconds?: number; rpoSeconds?: number };
}

export interface MetricsResult {
  file: string;
  ok: boolean;
  error?: string;
}

/**
 * Writes `run`'s samples into the textfile `file`, keeping other runbooks' samples and this
 * runbook's last success time (and DR samples, when `opts.dr` is not given). Lines of the
 * existing file that are not valid exposition format are dropped (node_exporter would reject
 * the whole file). Never rejects: an error (unreadable file, folder not writable) comes back as
 * `{ ok: false, error }` and leaves the existing file as it was.
 */
export async function writeMetrics(file: string, run: RunRecord, opts: MetricsOptions = {}): Promise<MetricsResult> {
  try {
    const release = await lock(`${file}.lock`);
    try {
      await assertReplaceable(file);
      let previous: string | undefined;
      try {
        previous = await readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      await writeAtomic(file, renderMetrics(previous, run, opts));
    } finally {
      await release();
    }
    return { file, ok: true };
  } catch (err) {
    return { file, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** The new file's text: `previous` (the current file, if any) merged with `run`'s samples. Pure. */
export function renderMetrics(previous: string | undefined, run: RunRecord, opts: MetricsOptions = {}): string {
  const kept = new Map<string, Sample>();
  const mine = new Map<MetricName, number>();
  for (const line of (previous ?? '').split('\n')) {
    let parsed: ExpositionLine;
    try {
      parsed = parseExpositionLine(line);
    } catch {
      continue;
    }
    if (parsed.kind !== 'sample' || !isMetricName(parsed.sample.name)) continue;
    const s = parsed.sample;
    if (s.labels.runbook === run.runbook) {
      if (Object.keys(s.labels).length === 1) mine.set(s.name as MetricName, s.value);
    } else if (s.labels.runbook !== undefined) kept.set(seriesKey(s), { name: s.name, labels: s.labels, value: s.value });
    // samples without a runbook label are not maint's: dropped
  }

  const end = (run.startedAt + run.durationMs) / 1000;
  const success = run.status === 'passed';
  const values: Partial<Record<MetricName, number>> = {
    maint_last_run_timestamp_seconds: end,
    maint_last_success_timestamp_seconds: success ? end : (mine.get('maint_last_success_timestamp_seconds') ?? 0),
    maint_last_run_duration_seconds: run.durationMs / 1000,
    maint_last_run_exit_code: run.exitCode,
    maint_last_run_steps_failed: failedSteps(run).length,
    maint_last_run_success: success ? 1 : 0,
  };
  const dr = opts.dr ?? (run.dr && { rtoSeconds: seconds(run.dr.rtoMs), rpoSeconds: seconds(run.dr.rpoMs) });
  if (dr) {
    if (isNumber(dr.rtoSeconds)) values.maint_dr_rto_seconds = dr.rtoSeconds;
    if (isNumber(dr.rpoSeconds)) values.maint_dr_rpo_seconds = dr.rpoSeconds;
  } else {
    for (const n of DR_NAMES) if (mine.has(n)) values[n] = mine.get(n);
  }
  for (const n of NAMES) {
    const v = values[n];
    if (v === undefined) continue;
    const s: Sample = { name: n, labels: { runbook: run.runbook }, value: v };
    kept.set(seriesKey(s), s);
  }

  const out: string[] = [];
  for (const n of NAMES) {
    const samples = [...kept.values()]
      .filter((s) => s.name === n)
      .sort((a, b) => cmp(a.labels.runbook ?? '', b.labels.runbook ?? '') || cmp(seriesKey(a), seriesKey(b)));
    if (samples.length === 0) continue;
    out.push(`# HELP ${n} ${escapeHelp(METRICS[n])}`, `# TYPE ${n} gauge`, ...samples.map(formatSample));
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

function isMetricName(name: string): name is MetricName {
  return Object.hasOwn(METRICS, name);
}

function seconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && !Number.isNaN(v);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Writes `file` whole or not at all: a temporary file in the same folder, fsync, rename. */
async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.chmod(0o644); // the umask may have narrowed the mode given to open
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** How long to wait for another maint writing the file, and when a lock counts as abandoned. */
const LOCK_WAIT_MS = 3000;
const LOCK_STALE_MS = 30_000;

/**
 * An exclusive lock file (`open(…, 'wx')`); resolves with its release. A lock older than
 * LOCK_STALE_MS (its holder died), or still held after LOCK_WAIT_MS (a write takes milliseconds),
 * is taken over rather than failing the write.
 */
async function lock(path: string): Promise<() => Promise<void>> {
  const until = Date.now() + LOCK_WAIT_MS;
  for (let tookOver = false; ; ) {
    try {
      const fh = await open(path, 'wx', 0o644);
      await fh.writeFile(`${process.pid}\n`).finally(() => fh.close());
      return () => unlink(path).catch(() => undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const age = await stat(path).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > LOCK_STALE_MS || Date.now() >= until) {
      if (tookOver) return async () => undefined; // cannot take it: write anyway, without the lock
      tookOver = true;
      await unlink(path).catch(() => undefined);
      continue;
    }
    await delay(20);
  }
}

// ---------------------------------------------------------------------------------------------
// Exposition format

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** Milliseconds since the epoch, when the line has one. */
  timestamp?: number;
}

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export type ExpositionLine =
  | { kind: 'blank' }
  | { kind: 'comment'; text: string }
  | { kind: 'help'; name: string; help: string }
  | { kind: 'type'; name: string; type: MetricType }
  | { kind: 'sample'; sample: Sample };

export interface Exposition {
  samples: Sample[];
  help: Map<string, string>;
  types: Map<string, MetricType>;
}

export class ExpositionError extends Error {
  constructor(
    message: string,
    /** 1-based line number, 0 when not about one line. */
    readonly line = 0,
  ) {
    super(line ? `line ${line}: ${message}` : message);
    this.name = 'ExpositionError';
  }
}

export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const VALUE = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;
const TIMESTAMP = /^-?\d+$/;

/**
 * Parses one line of the Prometheus text exposition format (version 0.0.4): a blank line, a
 * comment, `# HELP name text`, `# TYPE name type`, or `name{label="value",…} value [timestamp]`.
 * Label values may only use the escapes `\\`, `\"` and `\n`; HELP text `\\` and `\n`.
 * Throws an {@link ExpositionError} on anything else.
 */
export function parseExpositionLine(line: string): ExpositionLine {
  if (/^[ \t]*$/.test(line)) return { kind: 'blank' };
  if (line.startsWith('#')) {
    const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
    if (!m) return { kind: 'comment', text: line.slice(1).trim() };
    const [, keyword, name, rest = ''] = m;
    if (!METRIC_NAME.test(name!)) throw new ExpositionError(`invalid metric name ${JSON.stringify(name)}`);
    if (keyword === 'HELP') return { kind: 'help', name: name!, help: unescapeHelp(rest) };
    const type = rest.trim();
    if (!TYPES.has(type)) throw new ExpositionError(`invalid metric type ${JSON.stringify(type)} for ${name}`);
    return { kind: 'type', name: name!, type: type as MetricType };
  }

  let at = 0;
  const blanks = () => {
    while (line[at] === ' ' || line[at] === '\t') at++;
  };
  blanks();
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line.slice(at));
  if (!nameMatch) throw new ExpositionError(`expected a metric name: ${JSON.stringify(line)}`);
  const name = nameMatch[0];
  at += name.length;
  blanks();
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at++;
    for (;;) {
      blanks();
      if (line[at] === '}') {
        at++;
        break;
      }
      const ln = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(at));
      if (!ln) throw new ExpositionError(`expected a label name in ${JSON.stringify(line)}`);
      at += ln[0].length;
      blanks();
      if (line[at] !== '=') throw new ExpositionError(`expected "=" after label ${ln[0]}`);
      at++;
      blanks();
      if (line[at] !== '"') throw new ExpositionError(`expected a quoted value for label ${ln[0]}`);
      at++;
      let value = '';
      for (;;) {
        const c = line[at];
        if (c === undefined) throw new ExpositionError(`unterminated value of label ${ln[0]}`);
        at++;
        if (c === '"') break;
        if (c === '\\') {
          const e = line[at++];
          if (e === '\\') value += '\\';
          else if (e === '"') value += '"';
          else if (e === 'n') value += '\n';
          else throw new ExpositionError(`invalid escape \\${e ?? ''} in the value of label ${ln[0]}`);
        } else value += c;
      }
      if (Object.hasOwn(labels, ln[0])) throw new ExpositionError(`label ${ln[0]} given twice`);
      labels[ln[0]] = value;
      blanks();
      if (line[at] === ',') at++;
      else if (line[at] !== '}') throw new ExpositionError(`expected "," or "}" after label ${ln[0]}`);
    }
  }
  // Like the Go parser, no blank is required between `}` and the value.
  const rest = line.slice(at);
  const parts = rest.trim().split(/[ \t]+/);
  if (parts.length < 1 || parts[0] === '' || parts.length > 2) throw new ExpositionError(`expected "value [timestamp]" after ${name}: ${JSON.stringify(rest.trim())}`);
  const [v, ts] = parts as [string, string | undefined];
  if (!VALUE.test(v)) throw new ExpositionError(`invalid value ${JSON.stringify(v)} for ${name}`);
  if (ts !== undefined && !TIMESTAMP.test(ts)) throw new ExpositionError(`invalid timestamp ${JSON.stringify(ts)} for ${name}`);
  const value = v === 'NaN' ? NaN : v.endsWith('Inf') ? (v.startsWith('-') ? -Infinity : Infinity) : Number(v);
  const sample: Sample = { name, labels, value };
  if (ts !== undefined) sample.timestamp = Number(ts);
  return { kind: 'sample', sample };
}

/**
 * Parses and validates a whole exposition: every line (see {@link parseExpositionLine}), at most
 * one HELP and one TYPE per metric, TYPE before the metric's samples, each metric's samples
 * together, no series twice, and a final newline. Throws an {@link ExpositionError} naming the line.
 */
export function parseExposition(text: string): Exposition {
  const result: Exposition = { samples: [], help: new Map(), types: new Map() };
  if (text === '') return result;
  if (!text.endsWith('\n')) throw new ExpositionError('the last line does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  const seen = new Set<string>();
  const sampled = new Set<string>();
  const done = new Set<string>();
  let current: string | undefined;
  const enter = (family: string, n: number) => {
    if (family === current) return;
    if (done.has(family)) throw new ExpositionError(`lines of metric ${family} are not together`, n);
    if (current !== undefined) done.add(current);
    current = family;
  };
  lines.forEach((line, i) => {
    const n = i + 1;
    let parsed: ExpositionLine;
    try {
      parsed = parseExpositionLine(line);
    } catch (err) {
      throw new ExpositionError((err as Error).message, n);
    }
    switch (parsed.kind) {
      case 'blank':
      case 'comment':
        return;
      case 'help':
        if (result.help.has(parsed.name)) throw new ExpositionError(`second HELP line for ${parsed.name}`, n);
        enter(parsed.name, n);
        result.help.set(parsed.name, parsed.help);
        return;
      case 'type':
        if (result.types.has(parsed.name)) throw new ExpositionError(`second TYPE line for ${parsed.name}`, n);
        if (sampled.has(parsed.name)) throw new ExpositionError(`TYPE line for ${parsed.name} after its samples`, n);
        enter(parsed.name, n);
        result.types.set(parsed.name, parsed.type);
        return;
      case 'sample': {
        const s = parsed.sample;
        const family = familyOf(s.name, result.types);
        enter(family, n);
        sampled.add(family);
        const key = seriesKey(s);
        if (seen.has(key)) throw new ExpositionError(`series ${key} given twice`, n);
        seen.add(key);
        result.samples.push(s);
        return;
      }
      default: {
        const never: never = parsed;
        return never;
      }
    }
  });
  return result;
}

/** The metric a sample belongs to: `x_bucket`, `x_sum`, `x_count` of a histogram or summary `x` belong to `x`. */
function familyOf(name: string, types: Map<string, MetricType>): string {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const t = types.get(base);
    if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket')) return base;
  }
  return name;
}

/** `name{a="1",b="2"}` with labels sorted: identifies a series. */
function seriesKey(s: Pick<Sample, 'name' | 'labels'>): string {
  const labels = Object.keys(s.labels)
    .sort()
    .map((k) => `${k}="${escapeLabelValue(s.labels[k]!)}"`);
  return `${s.name}{${labels.join(',')}}`;
}

/** A label value as the exposition format writes it inside quotes: `\` `"` and newline escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(.?)/g, (all, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    throw new ExpositionError(`invalid escape ${all} in HELP text`);
  });
}

/** Go's float syntax for a sample value: `NaN`, `+Inf`, `-Inf`, or the number. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** One sample line, labels in the sample's order, no timestamp. */
export function formatSample(s: Sample): string {
  const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return `${s.name}${labels.length ? `{${labels.join(',')}}` : ''} ${formatValue(s.value)}`;
}
