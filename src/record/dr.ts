/**
 * DR tests: a run of a runbook with `objectives`, measured against them.
 *
 * - RTO: from the end of the step marked `disaster: true` (the simulated outage) to the end of
 *   the last top-level step of `steps` that ran (service verified back).
 * - RPO: the time of the disaster (the end of that step) minus the recovery point, the output
 *   `recovery_point` a step declares: an ISO 8601 / RFC 3339 timestamp (a CEL timestamp is
 *   recorded as one; without a zone it is UTC) or unix seconds.
 *
 * Measuring is pure: the same targets and events always give the same result. The session
 * wraps its event sink with {@link measuring}, so the `dr` event reaches every reporter, the
 * journal and the record just before `run:end`, and a missed objective fails the run there.
 */
import type { Emit, RunEvent, RunStatus } from '../exec/events.js';
import type { Plan, PlanStep } from '../plan/types.js';
import { formatDuration } from '../runbook/duration.js';
import type { RunRecord } from './types.js';

/** A DR runbook's measured recovery against its objectives. */
export interface DrResult {
  rtoMs?: number;
  rpoMs?: number;
  objectives: { rtoMs?: number; rpoMs?: number };
  /** Every objective measured and within its target, and the run passed. */
  met: boolean;
  /** Why a measurement is absent, or why the run counts as missed without one. */
  missing?: string;
}

/** The output through which a step tells the DR test how old the restored data is. */
export const RECOVERY_POINT = 'recovery_point';

/** What measuring needs from the plan. */
export interface DrTargets {
  objectives: { rtoMs?: number; rpoMs?: number };
  /** Qid of the `disaster: true` step, wherever it sits. */
  disaster?: string;
  /** Qids of the top-level steps of `steps`, in order. */
  topLevel: string[];
  /** Index in `topLevel` of the step that is or holds the disaster step (-1: none). */
  disasterAt: number;
}

type StepEnd = Extract<RunEvent, { type: 'step:end' }>;
type RunEnd = Extract<RunEvent, { type: 'run:end' }>;

/** Statuses of a step that did its work (a pending manual task or a skipped step did not). */
const RAN: ReadonlySet<string> = new Set(['passed', 'warned', 'issue']);

/** The plan's DR targets; undefined when the runbook has no `objectives` (nothing to measure). */
export function drTargets(plan: Plan): DrTargets | undefined {
  if (!plan.objectives) return undefined;
  return {
    objectives: plan.objectives,
    disaster: disasterStep(plan.steps)?.qid,
    topLevel: plan.steps.map((s) => s.qid),
    disasterAt: plan.steps.findIndex((s) => disasterStep([s]) !== undefined),
  };
}

/** The step marked `disaster: true`, searched through groups and includes. */
export function disasterStep(steps: readonly PlanStep[]): PlanStep | undefined {
  for (const s of steps) {
    if (s.disaster) return s;
    const inner = s.kind === 'parallel' ? disasterStep(s.children) : s.kind === 'include' ? disasterStep([...s.children, ...s.finally]) : undefined;
    if (inner) return inner;
  }
  return undefined;
}

/**
 * Measures a finished run from its step ends (in the order they happened) and how it ended.
 * A run that did not pass never meets its objectives; a measurement an objective needs that
 * cannot be taken makes them missed, with the reason in `missing`.
 */
export function measureDr(t: DrTargets, ends: readonly StepEnd[], status: RunStatus): DrResult {
  const why: string[] = [];
  const need = { rto: t.objectives.rtoMs !== undefined, rpo: t.objectives.rpoMs !== undefined };

  let disasterTime: number | undefined;
  const disaster = t.disaster === undefined ? undefined : ends.find((e) => e.qid === t.disaster);
  if (t.disaster === undefined) why.push('no step is marked `disaster: true`');
  else if (!disaster || !RAN.has(disaster.status)) {
    why.push(`the disaster step ${t.disaster} did not run${disaster?.reason ? ` (${disaster.reason})` : ''}`);
  } else disasterTime = disaster.time;

  let rtoMs: number | undefined;
  if (disasterTime !== undefined) {
    const broke = status === 'interrupted' || ends.some((e) => e.phase === 'steps' && (e.status === 'failed' || e.status === 'interrupted'));
    const at = new Map(t.topLevel.map((qid, i) => [qid, i]));
    const last = ends.filter((e) => e.phase === 'steps' && at.has(e.qid) && RAN.has(e.status)).at(-1);
    if (broke) {
      if (need.rto) why.push(`the run ${status.replace('_', ' ')} before service was verified back`);
    } else if (!last || at.get(last.qid)! <= t.disasterAt) {
      if (need.rto) why.push('no step ran after the disaster step');
    } else rtoMs = last.time - disasterTime;
  }

  let rpoMs: number | undefined;
  const declared = ends.filter((e) => e.outputs && Object.hasOwn(e.outputs, RECOVERY_POINT)).at(-1);
  if (!declared) {
    if (need.rpo) why.push(`no step declared the output \`${RECOVERY_POINT}\``);
  } else if (disasterTime !== undefined) {
    const value = declared.outputs![RECOVERY_POINT];
    const point = toEpochMs(value);
    if (point === undefined) why.push(`${RECOVERY_POINT} of ${declared.qid} is not a timestamp: ${JSON.stringify(value)}`);
    // Restored data newer than the outage means the recovery point is wrong; never count it as 0.
    else if (point > disasterTime) why.push(`${RECOVERY_POINT} ${iso(point)} is after the disaster (${iso(disasterTime)})`);
    else rpoMs = disasterTime - point;
  }

  if (status !== 'passed' && why.length === 0) why.push(`the run ${status.replace('_', ' ')}`);
  const within = (value: number | undefined, target: number | undefined) => target === undefined || (value !== undefined && value <= target);
  const met = status === 'passed' && within(rtoMs, t.objectives.rtoMs) && within(rpoMs, t.objectives.rpoMs);
  return { objectives: t.objectives, rtoMs, rpoMs, met, ...(why.length > 0 ? { missing: why.join('; ') } : {}) };
}

/** run:end with the DR verdict applied: a pass that missed its objectives is a failure (exit 1). */
export function withDrVerdict(end: RunEnd, dr: DrResult): RunEnd {
  return end.status === 'passed' && !dr.met ? { ...end, status: 'failed', exitCode: 1 } : end;
}

/**
 * An event sink that measures the run for `targets` (none: `emit` itself). Step ends are kept;
 * at run:end a `dr` event goes out first, then run:end with the verdict. A paused run is not
 * over, so it is not measured (its resumed run is).
 */
export function measuring(targets: DrTargets | undefined, emit: Emit): Emit {
  if (!targets) return emit;
  const ends: StepEnd[] = [];
  return (e) => {
    if (e.type === 'step:end') ends.push(e);
    if (e.type !== 'run:end' || e.status === 'paused') return emit(e);
    const dr = measureDr(targets, ends, e.status);
    emit({ type: 'dr', time: e.time, dr });
    emit(withDrVerdict(e, dr));
  };
}

/** Whether the run failed only because it missed its DR objectives: every step passed. */
export function failedOnDr(run: Pick<RunRecord, 'status' | 'dr' | 'steps'>): boolean {
  return run.status === 'failed' && run.dr?.met === false && !run.steps.some((s) => s.status === 'failed' || s.status === 'interrupted');
}

// ---------------------------------------------------------------------------------------------
// Timestamps

const ISO = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?\s*(Z|[+-]\d\d(?::?\d\d)?)?$/i;

/**
 * Milliseconds since the epoch of a recorded recovery point: a Date, an ISO 8601 / RFC 3339
 * string (any fraction; no zone means UTC, as everywhere in maint), or unix seconds (a number
 * or a string of digits). Undefined for anything else, and for a time a Date cannot hold
 * (beyond ±8.64e15 ms), which could be neither compared nor shown.
 */
export function toEpochMs(value: unknown): number | undefined {
  return inDateRange(parseEpochMs(value));
}

/** The largest distance from the epoch a Date can hold (ECMA-262 TimeClip), in milliseconds. */
const MAX_DATE_MS = 8.64e15;

/** A time outside what a Date can hold cannot be shown or compared as a time: not a timestamp. */
function inDateRange(ms: number | undefined): number | undefined {
  return ms !== undefined && Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? ms : undefined;
}

function parseEpochMs(value: unknown): number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value === 'bigint') return Number(value) * 1000;
  if (typeof value === 'number') return Number.isFinite(value) ? Math.round(value * 1000) : undefined;
  if (typeof value !== 'string') return undefined;
  const s = value.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const m = ISO.exec(s);
  if (!m) return undefined;
  const n = (i: number) => Number(m[i] ?? 0);
  const [y, mo, d, h, mi, sec] = [n(1), n(2), n(3), n(4), n(5), n(6)] as const;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return undefined;
  const fraction = Math.floor(Number(`0.${m[7] ?? '0'}`) * 1000);
  return Date.UTC(y, mo - 1, d, h, mi, sec) + fraction - offsetMs(m[8]);
}

/** `Z`, `+02`, `+0200`, `-05:30` → milliseconds east of UTC. */
function offsetMs(zone: string | undefined): number {
  if (!zone || zone.toUpperCase() === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0);
  return (zone.startsWith('-') ? -1 : 1) * minutes * 60_000;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

// ---------------------------------------------------------------------------------------------
// Text

/** `formatDuration` without zero tails, for objectives and measurements: `4h`, `20m`, `12s`, `1m05s`. */
export function compactDuration(ms: number): string {
  return formatDuration(ms)
    .replace(/^(\d+h)00m$/, '$1')
    .replace(/^(\d+m)00s$/, '$1')
    .replace(/^(\d+)\.0s$/, '$1s');
}

/** One measurement against its objective: `12s (objective 4h) met`, `not measured (objective 1h)`, `2h`. */
function part(label: string, value: number | undefined, target: number | undefined): string | undefined {
  if (value === undefined && target === undefined) return undefined;
  if (value === undefined) return `${label} not measured (objective ${compactDuration(target!)})`;
  if (target === undefined) return `${label} ${compactDuration(value)}`;
  return `${label} ${compactDuration(value)} (objective ${compactDuration(target)}) ${value <= target ? 'met' : 'MISSED'}`;
}

/** The console's DR line: `RTO 12s (objective 4h) met · RPO 3s (objective 1h) met`, and why when missed. */
export function formatDr(dr: DrResult): string {
  const parts = [part('RTO', dr.rtoMs, dr.objectives.rtoMs), part('RPO', dr.rpoMs, dr.objectives.rpoMs)].filter((p) => p !== undefined);
  const line = parts.join(' · ') || (dr.met ? 'objectives met' : 'objectives MISSED');
  const verdict = !dr.met && !line.includes('MISSED') ? ' — objectives MISSED' : '';
  return `${line}${verdict}${dr.missing ? `${verdict ? ':' : ' —'} ${dr.missing}` : ''}`;
}
