import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Masker, maskingForms } from '../../../src/exec/mask.js';
import type { RunRecord, StepRecord } from '../../../src/record/types.js';
import {
  ERROR_MAX,
  failedSteps,
  jsonPayload,
  notifyAll,
  NotifyTargetSchema,
  outcomesOf,
  redactUrl,
  type NotifyTarget,
} from '../../../src/notify/webhook.js';

// ---------------------------------------------------------------------------------------------
// A real HTTP server on 127.0.0.1 that records what it receives

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What to do with the n-th request (0-based): answer with a status, or never answer. */
type Behaviour = (n: number, res: ServerResponse) => void | 'hang';

const servers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((close) => close()));
});

async function serve(behaviour: Behaviour = (_n, res) => void res.end('ok')) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = received.length;
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      behaviour(n, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  servers.push(close);
  return { base: `http://127.0.0.1:${port}`, port, received, close };
}

/** A port nothing listens on: a server's, after it closed. */
async function deadPort(): Promise<number> {
  const s = await serve();
  await s.close();
  return s.port;
}

// ---------------------------------------------------------------------------------------------
// Runs

const SECRET = 'hunter2-Sup3rSecret!';
const masker = new Masker([SECRET]);
const START = Date.UTC(2026, 10, 23, 1, 23, 4);

function step(qid: string, name: string, status: StepRecord['status'], more: Partial<StepRecord> = {}): StepRecord {
  return { qid, name, phase: 'steps', status, durationMs: 800, attempts: status === 'skipped' ? 0 : 1, ...more };
}

function run(more: Partial<RunRecord> = {}): RunRecord {
  return {
    runId: '20261123T012304Z-c3a322',
    runbook: 'update-patch',
    title: 'Patch update',
    by: 'ops@bastion-1',
    via: 'cron',
    startedAt: START,
    durationMs: 138_000,
    status: 'passed',
    exitCode: 0,
    steps: [step('backup', 'Pre-update backup', 'passed')],
    rollbacks: [],
    ...more,
  };
}

const failedRun = (): RunRecord =>
  run({
    status: 'failed',
    exitCode: 1,
    steps: [
      step('backup', 'Pre-update backup', 'passed'),
      step('apply', 'Apply patch image', 'passed'),
      step('rollout', 'Rollout finished', 'failed', {
        attempts: 2,
        reason: `exit code 1: error: login failed for postgres://app:${SECRET}@db/app (token ${Buffer.from(SECRET).toString('base64')})`,
      }),
      step('health', 'Post-update health', 'skipped', { reason: 'not run: an earlier step failed' }),
    ],
    rollbacks: [{ qid: 'apply', name: 'Apply patch image', ok: true, durationMs: 3100 }],
  });

/** Fails the test when any masked form of SECRET is in `text`. */
function expectNoSecret(text: string): void {
  for (const form of maskingForms(SECRET)) expect(text, `secret form ${form} leaked`).not.toContain(form);
}

const fast = { masker, timeoutMs: 200, retries: 2 };

// ---------------------------------------------------------------------------------------------

describe('outcomesOf', () => {
  it('maps each run status to its outcomes', () => {
    expect(outcomesOf(run())).toEqual(['success']);
    expect(outcomesOf(run({ steps: [step('a', 'A', 'warned', { warnings: ['warning: old'] })] }))).toEqual(['success', 'warning']);
    expect(outcomesOf(run({ steps: [step('a', 'A', 'issue', { reason: 'exit code 1' })] }))).toEqual(['success', 'warning']);
    expect(outcomesOf(run({ status: 'failed', exitCode: 1 }))).toEqual(['failure']);
    expect(outcomesOf(run({ status: 'rollback_failed', exitCode: 3 }))).toEqual(['rollback_failed', 'failure']);
    expect(outcomesOf(run({ status: 'paused', exitCode: 5 }))).toEqual(['paused']);
    expect(outcomesOf(run({ status: 'interrupted', exitCode: 130 }))).toEqual(['interrupted']);
  });

  it('counts failed steps, not the groups that hold them', () => {
    const r = run({
      status: 'failed',
      steps: [
        step('db.dump', 'Dump', 'failed', { reason: 'exit code 2' }),
        step('db', 'Database', 'failed', { attempts: 0, reason: 'failed: dump' }),
        step('a', 'Check A', 'failed', { reason: 'exit code 1' }),
        step('b', 'Check B', 'issue', { reason: 'exit code 1' }),
        step('checks', 'Checks', 'failed', { attempts: 0, reason: 'failed: a, b' }),
      ],
    });
    expect(failedSteps(r).map((s) => s.qid)).toEqual(['db.dump', 'a', 'b']);
  });
});

describe('NotifyTargetSchema', () => {
  it('fills defaults and rejects bad entries', () => {
    expect(NotifyTargetSchema.parse({ url: 'https://hooks.example.com/T000/B000' })).toEqual({
      url: 'https://hooks.example.com/T000/B000',
      on: ['failure', 'rollback_failed', 'interrupted'],
      format: 'json',
    });
    expect(NotifyTargetSchema.safeParse({ url: 'ftp://x/y' }).success).toBe(false);
    expect(NotifyTargetSchema.safeParse({ url: 'https://x/y', on: ['failed'] }).success).toBe(false);
    expect(NotifyTargetSchema.safeParse({ url: 'https://x/y', format: 'teams' }).success).toBe(false);
    expect(NotifyTargetSchema.safeParse({ url: 'https://x/y', extra: 1 }).success).toBe(false);
  });
});

describe('redactUrl', () => {
  it('keeps only scheme and host', () => {
    expect(redactUrl('https://hooks.slack.com/services/T000/B000/XXXXsecret')).toBe('https://hooks.slack.com/…');
    expect(redactUrl('https://user:pw@example.com:8443/x?token=1')).toBe('https://example.com:8443/…');
    expect(redactUrl('https://example.com')).toBe('https://example.com');
    expect(redactUrl('not a url')).toBe('(invalid URL)');
  });
});

describe('notifyAll', () => {
  it('posts only to targets whose outcomes match', async () => {
    const s = await serve();
    const targets: NotifyTarget[] = [
      { url: `${s.base}/fail`, on: ['failure'], format: 'slack' },
      { url: `${s.base}/ok`, on: ['success'], format: 'json' },
      { url: `${s.base}/rb`, on: ['rollback_failed'], format: 'json' },
      { url: `${s.base}/warn`, on: ['warning'], format: 'json' },
    ];
    const r1 = await notifyAll(targets, failedRun(), fast);
    expect(r1).toEqual([{ url: `${s.base}/…`, ok: true, index: 0 }]);
    expect(s.received.map((r) => r.path)).toEqual(['/fail']);

    s.received.length = 0;
    await notifyAll(targets, { ...failedRun(), status: 'rollback_failed', exitCode: 3 }, fast);
    expect(s.received.map((r) => r.path).sort()).toEqual(['/fail', '/rb']);

    s.received.length = 0;
    const warned = run({ steps: [step('restic', 'Restic check', 'warned', { warnings: ['warning: exit 3'] })] });
    const r3 = await notifyAll(targets, warned, fast);
    expect(r3.map((r) => r.index)).toEqual([1, 3]);
    expect(s.received.map((r) => r.path).sort()).toEqual(['/ok', '/warn']);

    s.received.length = 0;
    expect(await notifyAll(targets, run({ status: 'paused', exitCode: 5 }), fast)).toEqual([]);
    expect(s.received).toEqual([]);
  });

  it('sends a short, masked Slack message', async () => {
    const s = await serve();
    const r = failedRun();
    r.title = `Patch update ${SECRET}`;
    r.ciUrl = `https://ci.example.com/job/1?token=${encodeURIComponent(SECRET)}`;
    r.via = 'CI';
    const [res] = await notifyAll([{ url: `${s.base}/services/T000/B000/XYZ`, on: ['failure'], format: 'slack' }], r, fast);
    expect(res?.ok).toBe(true);
    const got = s.received[0]!;
    expect(got.method).toBe('POST');
    expect(got.headers['content-type']).toBe('application/json');
    expectNoSecret(got.body);
    const payload = JSON.parse(got.body) as { text: string; blocks: Array<{ type: string }> };
    const all = got.body;
    expect(payload.text).toContain('Patch update ***');
    expect(payload.text).toContain('failed, rolled back');
    expect(payload.text).toContain('2m18s');
    expect(payload.text).toContain('Rollout finished');
    expect(payload.text).toContain('20261123T012304Z-c3a322');
    expect(payload.text).toContain('ops@bastion-1');
    expect(all).toContain('postgres://app:***@db/app (token ***)');
    expect(all).toContain('https://ci.example.com/job/1?token=***');
    expect(payload.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context']);
  });

  it('sends a stable, masked JSON document', async () => {
    const s = await serve();
    const r = failedRun();
    r.steps[0]!.warnings = [`warning: ${SECRET} seen`];
    await notifyAll([{ url: `${s.base}/hook`, on: ['failure'], format: 'json' }], r, fast);
    const body = s.received[0]!.body;
    expectNoSecret(body);
    const doc = JSON.parse(body) as ReturnType<typeof jsonPayload> & { run: Record<string, unknown> & { steps: Array<Record<string, unknown>> } };
    expect(Object.keys(doc)).toEqual(['kind', 'version', 'outcomes', 'run', 'dr']);
    expect(doc).toMatchObject({ kind: 'maint.run', version: 1, outcomes: ['failure'], dr: null });
    expect(Object.keys(doc.run)).toEqual([
      'id', 'runbook', 'title', 'status', 'result', 'exitCode', 'by', 'via', 'ciUrl', 'startedAt', 'endedAt', 'durationMs',
      'resumedFrom', 'pausedAt', 'steps', 'rollbacks',
    ]);
    expect(doc.run).toMatchObject({
      id: '20261123T012304Z-c3a322',
      status: 'failed',
      result: 'failed, rolled back',
      exitCode: 1,
      ciUrl: null,
      startedAt: '2026-11-23T01:23:04.000Z',
      endedAt: '2026-11-23T01:25:22.000Z',
    });
    expect(doc.run.steps[0]).toEqual({
      qid: 'backup', name: 'Pre-update backup', phase: 'steps', status: 'passed', durationMs: 800, attempts: 1,
      reason: null, warnings: ['warning: *** seen'], outputFile: null,
    });
    expect(doc.run.steps[2]!.reason).toBe('exit code 1: error: login failed for postgres://app:***@db/app (token ***)');
    // Same run, same document.
    expect(JSON.stringify(jsonPayload(r, masker))).toBe(body);
  });

  it('gives up on a dead port within the bound, without throwing, URL redacted', async () => {
    const port = await deadPort();
    const url = `http://127.0.0.1:${port}/services/T000/B000/SECRETPATH`;
    const t0 = Date.now();
    const res = await notifyAll([{ url, on: ['failure'], format: 'slack' }], failedRun(), fast);
    const elapsed = Date.now() - t0;
    // Generous slack over the 600 ms budget: a loaded machine is slow, a missing bound is not.
    expect(elapsed).toBeLessThan(200 * 3 + 2000);
    expect(res).toHaveLength(1);
    expect(res[0]).toMatchObject({ ok: false, url: `http://127.0.0.1:${port}/…` });
    expect(res[0]!.error).toMatch(/ECONNREFUSED/);
    expect(res[0]!.error).toMatch(/3 attempts/);
    expect(res[0]!.error).not.toContain('SECRETPATH');
  });

  it('gives up on a server that never answers within timeout × (retries + 1)', async () => {
    const s = await serve(() => 'hang');
    const t0 = Date.now();
    const res = await notifyAll([{ url: `${s.base}/slow`, on: ['failure'], format: 'json' }], failedRun(), fast);
    const elapsed = Date.now() - t0;
    expect(res[0]).toMatchObject({ ok: false });
    expect(res[0]!.error).toMatch(/timed out after \d+ms/);
    expect(elapsed).toBeGreaterThanOrEqual(200 * 3 - 20);
    expect(elapsed).toBeLessThan(200 * 3 + 2000);
    // On a loaded machine the later attempts may not reach the server before the deadline.
    expect(s.received.length).toBeGreaterThanOrEqual(1);
    expect(s.received.length).toBeLessThanOrEqual(3);
  });

  it('bounds several slow targets together, not one after the other', async () => {
    const s = await serve(() => 'hang');
    const targets: NotifyTarget[] = [1, 2, 3].map((i) => ({ url: `${s.base}/t${i}`, on: ['failure'], format: 'json' }));
    const t0 = Date.now();
    const res = await notifyAll(targets, failedRun(), { masker, timeoutMs: 1000, retries: 0 });
    // One after the other would take at least 3000 ms.
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(res.map((r) => r.ok)).toEqual([false, false, false]);
  });

  it('retries after a server error, then succeeds', async () => {
    const s = await serve((n, res) => {
      res.statusCode = n === 0 ? 503 : 200;
      res.end(n === 0 ? 'busy' : 'ok');
    });
    const res = await notifyAll([{ url: `${s.base}/hook`, on: ['failure'], format: 'json' }], failedRun(), fast);
    expect(res[0]).toEqual({ url: `${s.base}/…`, ok: true, index: 0 });
    expect(s.received).toHaveLength(2);
    expect(s.received[1]!.body).toBe(s.received[0]!.body);
  });

  it('does not retry a client error, and reports it masked', async () => {
    const s = await serve((_n, res) => {
      res.statusCode = 400;
      res.end(`invalid_payload near ${SECRET}`);
    });
    const res = await notifyAll([{ url: `${s.base}/hook`, on: ['failure'], format: 'slack' }], failedRun(), fast);
    expect(res[0]).toMatchObject({ ok: false, error: 'HTTP 400: invalid_payload near *** (1 attempt)' });
    expect(s.received).toHaveLength(1);
  });

  it('masks an error body before cutting it, so no head of a secret is left', async () => {
    const s = await serve((_n, res) => {
      res.statusCode = 400;
      // The secret straddles 200 characters, where the body used to be cut before it was masked.
      res.end(`${'x'.repeat(195)}${SECRET} and ${'y'.repeat(ERROR_MAX)}`);
    });
    const res = await notifyAll([{ url: `${s.base}/hook`, on: ['failure'], format: 'json' }], failedRun(), fast);
    const error = res[0]!.error!;
    expect(error).toMatch(/^HTTP 400: x{195}\*\*\* and y+… \(1 attempt\)$/);
    expect(error).not.toContain(SECRET.slice(0, 4));
    expect(error.length).toBeLessThan(ERROR_MAX + 20);
  });

  it('never throws: bad URL, throwing fetch, URL in an error message', async () => {
    const bad = await notifyAll([{ url: 'not a url', on: ['failure'], format: 'json' }], failedRun(), fast);
    expect(bad[0]).toMatchObject({ ok: false, url: '(invalid URL)' });

    const url = 'https://hooks.slack.com/services/T000/B000/XXXXsecret';
    const throwing = (async (u: string | URL | Request) => {
      throw new TypeError(`Failed to parse URL from ${String(u)}`);
    }) as typeof fetch;
    const res = await notifyAll([{ url, on: ['failure'], format: 'slack' }], failedRun(), { ...fast, retries: 0, fetch: throwing });
    expect(res[0]).toMatchObject({ ok: false, url: 'https://hooks.slack.com/…' });
    expect(res[0]!.error).toContain('https://hooks.slack.com/…');
    expect(res[0]!.error).not.toContain('XXXXsecret');

    const pathOnly = (async (u: string | URL | Request) => {
      throw new Error(`POST ${new URL(String(u)).pathname} refused`);
    }) as typeof fetch;
    const res2 = await notifyAll([{ url, on: ['failure'], format: 'json' }], failedRun(), { ...fast, retries: 0, fetch: pathOnly });
    expect(res2[0]!.error).toBe('POST /… refused (1 attempt)');

    const weird = await notifyAll(
      [null as unknown as NotifyTarget, { url, on: 'failure' as unknown as NotifyTarget['on'], format: 'json' }],
      failedRun(),
      fast,
    );
    expect(weird).toEqual([]);
  });
});
