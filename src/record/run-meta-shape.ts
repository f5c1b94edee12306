/**
 * The shape of run.json, checked when it is read: the state dir is a folder anyone with access
 * can edit, and a run.json of another shape (an array, a number for runId) must not crash
 * `history`, `resume` or the recovery of orphaned runs. A file that fails is treated like a
 * truncated one: not a run.
 */

/** The farthest from the epoch a Date can hold, in milliseconds. */
const MAX_DATE_MS = 8.64e15;

const STATUSES = new Set(['running', 'passed', 'failed', 'rollback_failed', 'paused', 'interrupted', 'refused', 'crashed']);

type Check = (v: unknown) => boolean;

const isString: Check = (v) => typeof v === 'string';
const isTime: Check = (v) => typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= MAX_DATE_MS;
const isCount: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optional =
  (check: Check): Check =>
  (v) =>
    v === undefined || check(v);

const isDr: Check = (v) =>
  isObject(v) &&
  isObject(v.objectives) &&
  typeof v.met === 'boolean' &&
  optional(isCount)(v.rtoMs) &&
  optional(isCount)(v.rpoMs) &&
  optional(isString)(v.missing) &&
  optional(isCount)(v.objectives.rtoMs) &&
  optional(isCount)(v.objectives.rpoMs);

const isFlags: Check = (v) =>
  isObject(v) && Array.isArray(v.var) && v.var.every(isString) && optional(isString)(v.varsFile) && isString(v.log);

/** Every field of run.json and what it must be (RunMetaFile in journal.ts). */
const FIELDS: Record<string, Check> = {
  runId: (v) => typeof v === 'string' && v !== '',
  runbook: isString,
  title: isString,
  file: isString,
  cwd: isString,
  pid: (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1,
  host: isString,
  by: isString,
  via: isString,
  ciUrl: optional(isString),
  startedAt: isTime,
  status: (v) => typeof v === 'string' && STATUSES.has(v),
  reason: optional(isString),
  exitCode: optional((v) => typeof v === 'number' && Number.isSafeInteger(v)),
  durationMs: optional(isCount),
  pausedAt: optional(isString),
  resumedFrom: optional(isString),
  resumedBy: optional(isString),
  recovered: optional((v) => typeof v === 'boolean'),
  dr: optional(isDr),
  flags: isFlags,
};

/** Why `value` is not a run.json maint wrote (the first field that is wrong), or undefined. */
export function runMetaProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'not a JSON object';
  for (const [field, check] of Object.entries(FIELDS)) {
    if (!check(value[field])) return `${field} is ${value[field] === undefined ? 'missing' : `not what maint writes: ${JSON.stringify(value[field])}`}`;
  }
  return undefined;
}
