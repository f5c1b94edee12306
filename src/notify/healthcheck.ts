/**
 * Cron monitoring with the healthchecks.io ping convention (also served by self-hosted
 * Healthchecks and compatible monitors): `<base>/start` when a run starts, `<base>/<exit code>`
 * with the log entry as the body when it ends. The monitor alerts when a run fails (non-zero
 * exit code), runs too long after /start, or does not happen on schedule.
 *
 * Run ids: both pings carry `?rid=<uuid>` so the monitor pairs each start with its end even
 * when runs overlap, and measures each run's duration. healthchecks.io requires `rid` to be a
 * UUID, so it is {@link runUuid}: the RFC 4122 version 5 (SHA-1, name-based) UUID of the run id,
 * deterministic, so a start and an end computed separately (or after a crash) agree.
 *
 * Same rules as webhooks: bounded (timeout × (retries + 1)), never throws, failures come back as
 * `{ ok: false, error }` with the ping URL shown only as `scheme://host/…` (a ping URL lets anyone
 * report to the check).
 */
import { createHash } from 'node:crypto';
import type { Masker } from '../exec/mask.js';
import { redactUrl, send } from './webhook.js';

/** Largest body sent with the end ping, in bytes (healthchecks.io keeps the first 100 KB). */
export const PING_BODY_MAX = 10 * 1024;

export interface PingOptions {
  /** Per attempt, in ms (default 5000). */
  timeoutMs?: number;
  /** Attempts after the first (default 2). */
  retries?: number;
  fetch?: typeof fetch;
  /** The maint run id: sent as `rid` (its UUID v5), so start and end pair up. */
  runId?: string;
  /** Masks error texts; the end ping's body is masked with it too. */
  masker?: Masker;
}

export interface PingResult {
  /** The ping URL, redacted to `scheme://host/…`. */
  url: string;
  ok: boolean;
  error?: string;
}

/** Signals the start of a run: POST `<base>/start`. Never rejects. */
export async function pingStart(base: string, opts: PingOptions = {}): Promise<PingResult> {
  return ping(base, 'start', undefined, opts);
}

/**
 * Signals the end of a run: POST `<base>/<exitCode>` (0 = success, anything else a failure;
 * codes outside 0–255 are sent as 1) with `body` — the run's log entry — masked, then cut to
 * {@link PING_BODY_MAX} bytes. Never rejects.
 */
export async function pingEnd(base: string, exitCode: number, body: string, opts: PingOptions & { masker: Masker }): Promise<PingResult> {
  let text: string;
  try {
    text = capBytes(opts.masker.mask(String(body ?? '')), PING_BODY_MAX);
  } catch (err) {
    return { url: redactUrl(base), ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  const code = Number.isInteger(exitCode) && exitCode >= 0 && exitCode <= 255 ? exitCode : 1;
  return ping(base, String(code), text, opts);
}

async function ping(base: string, suffix: string, body: string | undefined, opts: PingOptions): Promise<PingResult> {
  const shown = redactUrl(base);
  let url: string;
  try {
    url = pingUrl(base, suffix, opts.runId);
  } catch {
    return { url: shown, ok: false, error: 'not an http(s) URL' };
  }
  const res = await send(url, { method: 'POST', body: body ?? '', contentType: 'text/plain; charset=utf-8' }, opts);
  return res.ok ? { url: shown, ok: true } : { url: shown, ok: false, error: res.error };
}

/**
 * `<base>/<suffix>`, keeping the base's query (e.g. `?create=1` for slug URLs) and adding
 * `rid=<runUuid(runId)>` when a run id is given. Throws on a base that is not http(s).
 */
export function pingUrl(base: string, suffix: string, runId?: string): string {
  const u = new URL(base.trim());
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not an http(s) URL');
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/${suffix}`;
  if (runId) u.searchParams.set('rid', runUuid(runId));
  return u.toString();
}

/** RFC 4122 URL namespace: `runUuid` hashes `maint:run:<run id>` under it. */
const NAMESPACE_URL = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

/** The UUID (version 5) of a maint run id: the same run id always gives the same UUID. */
export function runUuid(runId: string): string {
  return uuidV5(`maint:run:${runId}`, NAMESPACE_URL);
}

/** RFC 4122 §4.3 name-based UUID, SHA-1 (version 5). */
export function uuidV5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new Error(`not a UUID: ${namespace}`);
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  const b = hash.subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const CUT_NOTE = '\n… (cut by maint; the full entry is in the maintenance log)\n';

/** `text` in at most `max` UTF-8 bytes, cut at a character boundary with a note when cut. */
export function capBytes(text: string, max: number): string {
  if (Buffer.byteLength(text, 'utf8') <= max) return text;
  const room = max - Buffer.byteLength(CUT_NOTE, 'utf8');
  if (room < 0) return '';
  let bytes = 0;
  let out = '';
  for (const ch of text) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > room) break;
    out += ch;
    bytes += n;
  }
  return out + CUT_NOTE;
}
