/**
 * Run notifications: a POST to each configured webhook whose `on:` list matches the run's
 * outcome, as a Slack message or as a JSON document of the run.
 *
 * A notification never changes a run's result and never holds a run hostage: every send is
 * bounded (`timeoutMs` per attempt, and `timeoutMs × (retries + 1)` in all, backoff included),
 * nothing here throws, and a failure comes back as `{ ok: false, error }` for the caller to record
 * as an issue. Everything sent goes through the run's masker, and webhook URLs (Slack's are
 * secrets: whoever has one can post to the channel) appear only as `scheme://host/…` in results
 * and error messages.
 */
import { setTimeout as delay } from 'node:timers/promises';
import * as z from 'zod/mini';
import '../zod-setup.js'; // before any schema is built
import { maskDeep, type Masker } from '../exec/mask.js';
import { failedOnDr, type DrResult } from '../record/dr.js';
import type { RunRecord, StepRecord } from '../record/types.js';
import { formatDuration } from '../runbook/duration.js';

// ---------------------------------------------------------------------------------------------
// Outcomes and targets

/** What a webhook can subscribe to (`on:` in the config). */
export const OUTCOMES = ['success', 'failure', 'rollback_failed', 'paused', 'interrupted', 'warning'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface NotifyTarget {
  url: string;
  on: Outcome[];
  format: 'slack' | 'json';
}

/** Outcomes a target gets when its config leaves out `on:`. */
export const DEFAULT_ON: readonly Outcome[] = ['failure', 'rollback_failed', 'interrupted'];

/**
 * One `notify:` entry of the config. `on` defaults to {@link DEFAULT_ON}, `format` to `json`;
 * the URL must be http(s).
 */
export const NotifyTargetSchema = z.strictObject({
  url: z.string().check(z.refine(isHttpUrl, 'an http(s) URL')),
  on: z._default(z.array(z.enum(OUTCOMES)).check(z.minLength(1)), () => [...DEFAULT_ON]),
  format: z._default(z.enum(['slack', 'json']), 'json'),
});

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.host !== '';
  } catch {
    return false;
  }
}

/**
 * The outcomes of a finished run: passed → success (and warning when a step warned or failed
 * under continue_on_error), failed → failure, rollback_failed → rollback_failed and failure,
 * paused → paused, interrupted → interrupted.
 */
export function outcomesOf(run: RunRecord): Outcome[] {
  switch (run.status) {
    case 'passed':
      return hasWarnings(run) ? ['success', 'warning'] : ['success'];
    case 'failed':
      return ['failure'];
    case 'rollback_failed':
      return ['rollback_failed', 'failure'];
    case 'paused':
      return ['paused'];
    case 'interrupted':
      return ['interrupted'];
    default: {
      const never: never = run.status;
      return [String(never) as Outcome];
    }
  }
}

/** The same rule as the log entry's "passed with warnings". */
function hasWarnings(run: RunRecord): boolean {
  return run.steps.some((s) => s.status === 'warned' || s.status === 'issue' || (s.warnings?.length ?? 0) > 0);
}

/**
 * Whether a step record is a group (an include or a parallel block) rather than a step that ran
 * something: an include's children have qids under it; a group that failed has no attempts and a
 * `failed: <child ids>` reason.
 */
export function isGroupRecord(step: StepRecord, all: readonly StepRecord[]): boolean {
  if (all.some((s) => s !== step && s.qid.startsWith(`${step.qid}.`))) return true;
  return step.attempts === 0 && (step.reason?.startsWith('failed: ') ?? false);
}

/** Steps (not groups) that failed, including failures recorded as issues (continue_on_error). */
export function failedSteps(run: RunRecord): StepRecord[] {
  return run.steps.filter((s) => (s.status === 'failed' || s.status === 'issue') && !isGroupRecord(s, run.steps));
}

/** The log entry's one-line result: `passed with warnings`, `failed, rolled back`, … */
export function resultText(run: RunRecord): string {
  switch (run.status) {
    case 'passed':
      return hasWarnings(run) ? 'passed with warnings' : 'passed';
    case 'failed':
      if (failedOnDr(run)) return 'failed: DR objectives missed';
      return run.rollbacks.length > 0 && run.rollbacks.every((r) => r.ok) ? 'failed, rolled back' : 'failed';
    case 'rollback_failed':
      return 'failed, ROLLBACK FAILED';
    case 'paused': {
      const step = run.steps.find((s) => s.qid === run.pausedAt) ?? run.steps.find((s) => s.status === 'paused');
      return `paused at ${step?.name ?? run.pausedAt ?? 'a confirmation'}`;
    }
    case 'interrupted':
      return 'interrupted';
    default: {
      const never: never = run.status;
      return String(never);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Payloads

/** Longest step name / reason put in a Slack message, in code points. */
const NAME_MAX = 150;
const REASON_MAX = 500;

const EMOJI: Record<RunRecord['status'], string> = {
  passed: ':white_check_mark:',
  failed: ':x:',
  rollback_failed: ':rotating_light:',
  paused: ':double_vertical_bar:',
  interrupted: ':octagonal_sign:',
};

export interface SlackPayload {
  text: string;
  blocks: unknown[];
}

/**
 * A short Slack message: title, result, duration, the failed step and why, who ran it and the
 * run id. `text` is the notification/fallback line, `blocks` the formatted message. Masked.
 */
export function slackPayload(run: RunRecord, masker: Masker, dr: DrResult | undefined = run.dr): SlackPayload {
  // Mask each piece of user text before escaping it for Slack (escaping could split a secret).
  const t = (text: string, max = REASON_MAX) => slackEscape(clip(oneLine(masker.mask(text)), max));
  const title = t(run.title || run.runbook, NAME_MAX);
  const result = t(resultText(run), NAME_MAX);
  const duration = formatDuration(run.durationMs);
  const emoji = run.status === 'passed' && hasWarnings(run) ? ':warning:' : EMOJI[run.status];

  const fields = [
    `*Result*\n${result}`,
    `*Duration*\n${duration}`,
    `*Runbook*\n${t(run.runbook, NAME_MAX)}`,
    `*Run*\n${t(run.runId, NAME_MAX)}`,
    `*Performed by*\n${t(run.by, NAME_MAX)} (${run.via})${run.ciUrl ? ` <${slackUrl(masker.mask(run.ciUrl))}|CI job>` : ''}`,
  ];
  const lines: string[] = [];
  const failed = failedSteps(run);
  const main = failed.find((s) => s.status === 'failed') ?? run.steps.find((s) => s.status === 'interrupted' && !isGroupRecord(s, run.steps));
  if (main) lines.push(`*${main.status === 'interrupted' ? 'Interrupted step' : 'Failed step'}*: ${t(main.name, NAME_MAX)}${main.reason ? `\n${t(main.reason)}` : ''}`);
  const issues = failed.filter((s) => s.status === 'issue');
  if (issues.length > 0) lines.push(`*Failed, run went on*: ${issues.map((s) => t(s.name, NAME_MAX)).join(', ')}`);
  const badRollbacks = run.rollbacks.filter((r) => !r.ok);
  for (const r of badRollbacks) lines.push(`*Rollback failed*: ${t(r.name, NAME_MAX)}${r.reason ? `\n${t(r.reason)}` : ''}`);
  if (run.status === 'rollback_failed') lines.push('*A person must check the system now.*');
  if (run.status === 'paused') lines.push(`Resume with \`maint resume ${t(run.runId, NAME_MAX)} --yes\``);
  const warned = run.steps.filter((s) => s.status === 'warned' && !isGroupRecord(s, run.steps));
  if (warned.length > 0) lines.push(`*Warnings*: ${warned.map((s) => t(s.name, NAME_MAX)).join(', ')}`);
  if (dr) lines.push(`*DR objectives*: ${drText(dr)}`);

  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(`${emoji} ${oneLine(masker.mask(run.title || run.runbook))}`, 150), emoji: true } },
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) },
  ];
  if (lines.length > 0) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(lines.join('\n'), 2900) } });
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `maint run ${t(run.runbook, NAME_MAX)} · started ${new Date(run.startedAt).toISOString()}` }],
  });

  const failedPart = main ? ` — ${main.status === 'interrupted' ? 'interrupted at' : 'failed at'} ${t(main.name, NAME_MAX)}` : '';
  const text = `${emoji} ${title}: ${result} in ${duration}${failedPart} (run ${t(run.runId, NAME_MAX)}, ${t(run.by, NAME_MAX)})`;
  return maskDeep({ text, blocks }, masker) as SlackPayload;
}

/** Version of the JSON document; bumped only on an incompatible change. */
export const RUN_DOCUMENT_VERSION = 1;

/**
 * The JSON document of a run: fixed keys in a fixed order, absent values as `null` (never left
 * out), times as ISO-8601 UTC plus milliseconds. Every string masked.
 */
export function jsonPayload(run: RunRecord, masker: Masker, dr: DrResult | undefined = run.dr): Record<string, unknown> {
  const doc = {
    kind: 'maint.run',
    version: RUN_DOCUMENT_VERSION,
    outcomes: outcomesOf(run),
    run: {
      id: run.runId,
      runbook: run.runbook,
      title: run.title,
      status: run.status,
      result: resultText(run),
      exitCode: run.exitCode,
      by: run.by,
      via: run.via,
      ciUrl: run.ciUrl ?? null,
      startedAt: new Date(run.startedAt).toISOString(),
      endedAt: new Date(run.startedAt + run.durationMs).toISOString(),
      durationMs: run.durationMs,
      resumedFrom: run.resumedFrom ?? null,
      pausedAt: run.pausedAt ?? null,
      steps: run.steps.map((s) => ({
        qid: s.qid,
        name: s.name,
        phase: s.phase,
        status: s.status,
        durationMs: s.durationMs,
        attempts: s.attempts,
        reason: s.reason ?? null,
        warnings: s.warnings ?? [],
        outputFile: s.outputFile ?? null,
      })),
      rollbacks: run.rollbacks.map((r) => ({ qid: r.qid, name: r.name, ok: r.ok, durationMs: r.durationMs, reason: r.reason ?? null })),
    },
    dr: dr
      ? {
          met: dr.met,
          rtoMs: dr.rtoMs ?? null,
          rpoMs: dr.rpoMs ?? null,
          objectives: { rtoMs: dr.objectives.rtoMs ?? null, rpoMs: dr.objectives.rpoMs ?? null },
          missing: dr.missing ?? null,
        }
      : null,
  };
  return maskDeep(doc, masker) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Sending

export interface NotifyOptions {
  masker: Masker;
  /** Per attempt, in ms (default 5000). */
  timeoutMs?: number;
  /** Attempts after the first (default 2). */
  retries?: number;
  fetch?: typeof fetch;
  /** A DR run's measured objectives, added to both formats (default: the run's own). */
  dr?: DrResult;
}

export interface NotifyResult {
  /** The target's URL, redacted to `scheme://host/…`. */
  url: string;
  ok: boolean;
  error?: string;
  /** Index of the target in the `targets` passed in. */
  index: number;
}

/**
 * POSTs the run to every target whose `on` includes one of the run's outcomes, all at once.
 * Resolves with one result per target notified, in target order; never rejects. Each result
 * comes within `timeoutMs × (retries + 1)` (plus a few ms).
 */
export async function notifyAll(targets: readonly NotifyTarget[], run: RunRecord, opts: NotifyOptions): Promise<NotifyResult[]> {
  let chosen: Array<{ target: NotifyTarget; index: number }>;
  let outcomes: Outcome[];
  try {
    outcomes = outcomesOf(run);
    chosen = (Array.isArray(targets) ? targets : [])
      .map((target, index) => ({ target, index }))
      .filter(({ target }) => Array.isArray(target?.on) && target.on.some((o: Outcome) => outcomes.includes(o)));
  } catch (err) {
    return [{ url: '', ok: false, error: `notify: ${errorText(err)}`, index: -1 }];
  }
  return Promise.all(chosen.map(({ target, index }) => notifyOne(target, index, run, opts)));
}

async function notifyOne(target: NotifyTarget, index: number, run: RunRecord, opts: NotifyOptions): Promise<NotifyResult> {
  const url = redactUrl(target.url);
  try {
    const payload = target.format === 'slack' ? slackPayload(run, opts.masker, opts.dr) : jsonPayload(run, opts.masker, opts.dr);
    // Strings were masked one by one; this pass also catches anything the serialization formed.
    const body = opts.masker.mask(JSON.stringify(payload));
    const res = await send(target.url, { method: 'POST', body, contentType: 'application/json' }, opts);
    return res.ok ? { url, ok: true, index } : { url, ok: false, error: res.error, index };
  } catch (err) {
    return { url, ok: false, error: scrub(errorText(err), target.url, opts.masker), index };
  }
}

export interface SendOptions {
  timeoutMs?: number;
  retries?: number;
  fetch?: typeof fetch;
  /** Error text (e.g. a response body) is masked with it. */
  masker?: Masker;
  /** First wait before a retry, doubled each time (default 250 ms, at most a quarter of the timeout). */
  backoffMs?: number;
}

export interface SendResult {
  ok: boolean;
  /** HTTP status of the last response, when there was one. */
  status?: number;
  attempts: number;
  error?: string;
}

export const DEFAULT_TIMEOUT_MS = 5000;
/** Characters of an error (a response body, say) kept in a result; the rest is cut, after masking. */
export const ERROR_MAX = 220;
export const DEFAULT_RETRIES = 2;

/**
 * One HTTP request with retries, bounded in total by `timeoutMs × (retries + 1)`: each attempt
 * gets at most `timeoutMs` and what is left of that budget, backoff waits come out of it too.
 * Retried: network errors, timeouts, 408, 429 and 5xx; other statuses are final. Never rejects;
 * the error text (without the URL) shows any URL only as `scheme://host/…`.
 */
export async function send(
  url: string,
  req: { method: 'GET' | 'POST'; body?: string; contentType?: string },
  opts: SendOptions = {},
): Promise<SendResult> {
  const timeoutMs = positive(opts.timeoutMs, DEFAULT_TIMEOUT_MS);
  const retries = Math.floor(nonNegative(opts.retries, DEFAULT_RETRIES));
  const backoff = Math.min(nonNegative(opts.backoffMs, 250), timeoutMs / 4);
  const doFetch = opts.fetch ?? globalThis.fetch;
  const deadline = Date.now() + timeoutMs * (retries + 1);
  let error = 'not sent';
  let status: number | undefined;
  let attempts = 0;
  try {
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        const wait = Math.min(backoff * 2 ** (attempt - 1), deadline - Date.now());
        if (wait > 0) await delay(wait);
      }
      const budget = Math.min(timeoutMs, deadline - Date.now());
      if (budget <= 0) break;
      attempts++;
      const r = await attemptOnce(doFetch, url, req, budget);
      if (r.ok) return { ok: true, status: r.status, attempts };
      error = r.error;
      status = r.status;
      if (!r.retry) break;
    }
  } catch (err) {
    error = errorText(err);
  }
  const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
  // Scrubbed before it is cut: a cut would leave the head of a secret or of the URL's path in the
  // text, which neither the masker nor the redaction recognises any more.
  return { ok: false, status, attempts, error: `${clip(scrub(error, url, opts.masker), ERROR_MAX)} (${tries})` };
}

async function attemptOnce(
  doFetch: typeof fetch,
  url: string,
  req: { method: 'GET' | 'POST'; body?: string; contentType?: string },
  budget: number,
): Promise<{ ok: true; status: number } | { ok: false; status?: number; error: string; retry: boolean }> {
  const signal = AbortSignal.timeout(budget);
  try {
    const res = await doFetch(url, {
      method: req.method,
      body: req.body,
      headers: { 'user-agent': 'maint', ...(req.contentType ? { 'content-type': req.contentType } : {}) },
      signal,
    });
    if (res.ok) {
      await res.body?.cancel().catch(() => undefined);
      return { ok: true, status: res.status };
    }
    let detail = '';
    try {
      // Bounded, but far beyond what is shown: send() masks, then cuts to ERROR_MAX.
      detail = oneLine((await res.text()).slice(0, 4 * ERROR_MAX));
    } catch {
      // a body that does not arrive in time does not matter
    }
    const retry = res.status >= 500 || res.status === 408 || res.status === 429;
    return { ok: false, status: res.status, error: `HTTP ${res.status}${detail ? `: ${detail}` : ''}`, retry };
  } catch (err) {
    const timedOut = signal.aborted || (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'));
    return { ok: false, error: timedOut ? `timed out after ${Math.round(budget)}ms` : errorText(err), retry: true };
  }
}

// ---------------------------------------------------------------------------------------------
// Text

/** `scheme://host/…`: what may be shown of a webhook URL (its path and query are the secret). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const more = (u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.hash !== '';
    return `${u.protocol}//${u.host}${more ? '/…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}

/** An error message with the URL (and its path alone) redacted and secrets masked. */
function scrub(text: string, url: string, masker: Masker | undefined): string {
  let out = text;
  let path = '';
  try {
    const u = new URL(url);
    path = `${u.pathname}${u.search}`;
  } catch {
    // not a URL: only the whole string can be redacted
  }
  if (url) out = out.split(url).join(redactUrl(url));
  if (path.length > 1) out = out.split(path).join('/…');
  return masker ? masker.mask(out) : out;
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // fetch wraps network errors: "fetch failed" with the real one (ECONNREFUSED, …) as the cause.
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    const inner = cause instanceof AggregateError && cause.errors[0] instanceof Error ? cause.errors[0].message : cause.message;
    const msg = inner || String(code ?? '');
    return typeof code === 'string' && !msg.includes(code) ? `${code}: ${msg}` : msg;
  }
  return err.message || err.name;
}

function positive(v: number | undefined, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : dflt;
}

function nonNegative(v: number | undefined, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : dflt;
}

/** Line breaks and other control characters become spaces; whitespace collapsed. */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
}

/** Cut to `max` code points, ending in "…" when cut. */
export function clip(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('').trimEnd()}…`;
}

/** Slack mrkdwn: `&`, `<` and `>` are control characters and must be escaped. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A URL inside `<url|label>`: `|` and `>` would end it. */
function slackUrl(url: string): string {
  return url.replace(/[|<> ]/g, encodeURIComponent);
}

function drText(dr: DrResult): string {
  const part = (label: string, ms: number | undefined, target: number | undefined) =>
    ms === undefined ? undefined : `${label} ${formatDuration(ms)}${target === undefined ? '' : ` (target ${formatDuration(target)})`}`;
  const parts = [part('RTO', dr.rtoMs, dr.objectives.rtoMs), part('RPO', dr.rpoMs, dr.objectives.rpoMs)].filter(Boolean);
  return `${parts.join(', ')}${parts.length ? ' — ' : ''}${dr.met ? 'met' : 'MISSED'}${dr.missing ? `: ${dr.missing}` : ''}`;
}

