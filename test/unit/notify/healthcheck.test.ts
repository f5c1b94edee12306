import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Masker } from '../../../src/exec/mask.js';
import { capBytes, PING_BODY_MAX, pingEnd, pingStart, pingUrl, runUuid, uuidV5 } from '../../../src/notify/healthcheck.js';

interface Received {
  method: string;
  path: string;
  contentType: string | undefined;
  body: Buffer;
}

const servers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((close) => close()));
});

async function serve(behaviour: (n: number, res: ServerResponse) => void | 'hang' = (_n, res) => void res.end('OK')) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = received.length;
      received.push({ method: req.method ?? '', path: req.url ?? '', contentType: req.headers['content-type'], body: Buffer.concat(chunks) });
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

const CHECK = '5f3c7a0e-1b2d-4c3e-8f9a-0b1c2d3e4f50';
const RUN_ID = '20261123T012304Z-c3a322';
const SECRET = 'pg-Passw0rd-9911';
const masker = new Masker([SECRET]);
const fast = { timeoutMs: 200, retries: 2, masker };

describe('runUuid', () => {
  it('is RFC 4122 version 5: the known vector, deterministic, well-formed', () => {
    // uuid5(NAMESPACE_DNS, "www.example.com") in Python's uuid module.
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    // uuid5(NAMESPACE_URL, "maint:run:" + RUN_ID)
    expect(runUuid(RUN_ID)).toBe('f8eb868f-fa80-5b04-a646-a3ead5b88fd5');
    expect(runUuid(RUN_ID)).toBe(runUuid(RUN_ID));
    expect(runUuid(`${RUN_ID}x`)).not.toBe(runUuid(RUN_ID));
    expect(runUuid('anything')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('pingUrl', () => {
  it('appends the signal, keeps the query, adds rid', () => {
    expect(pingUrl(`https://hc-ping.com/${CHECK}`, 'start')).toBe(`https://hc-ping.com/${CHECK}/start`);
    expect(pingUrl(`https://hc-ping.com/${CHECK}/`, '0', RUN_ID)).toBe(`https://hc-ping.com/${CHECK}/0?rid=${runUuid(RUN_ID)}`);
    expect(pingUrl('https://hc-ping.com/KEY/nightly-backup?create=1', '3', RUN_ID)).toBe(
      `https://hc-ping.com/KEY/nightly-backup/3?create=1&rid=${runUuid(RUN_ID)}`,
    );
    expect(() => pingUrl('file:///etc/passwd', 'start')).toThrow();
  });
});

describe('pingStart / pingEnd', () => {
  it('pings /start, then /<exit code> with the masked entry as body, both with the same rid', async () => {
    const s = await serve();
    const base = `${s.base}/${CHECK}`;
    const start = await pingStart(base, { ...fast, runId: RUN_ID });
    expect(start).toEqual({ url: `${s.base}/…`, ok: true });
    const entry = `## 2026-11-23: Patch update\n\n**Result**: failed\n- [ ] Login — failed: password ${SECRET} rejected\n`;
    const end = await pingEnd(base, 1, entry, { ...fast, runId: RUN_ID });
    expect(end).toEqual({ url: `${s.base}/…`, ok: true });
    await pingEnd(base, 0, 'ok', fast);

    const rid = runUuid(RUN_ID);
    expect(s.received.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /${CHECK}/start?rid=${rid}`,
      `POST /${CHECK}/1?rid=${rid}`,
      `POST /${CHECK}/0`,
    ]);
    expect(s.received[0]!.body.length).toBe(0);
    const body = s.received[1]!.body.toString('utf8');
    expect(body).toBe(entry.replace(SECRET, '***'));
    expect(s.received[1]!.contentType).toBe('text/plain; charset=utf-8');
  });

  it('sends exit codes outside 0–255 as 1', async () => {
    const s = await serve();
    await pingEnd(`${s.base}/${CHECK}`, -1, '', fast);
    await pingEnd(`${s.base}/${CHECK}`, 300, '', fast);
    await pingEnd(`${s.base}/${CHECK}`, 130, '', fast);
    expect(s.received.map((r) => r.path)).toEqual([`/${CHECK}/1`, `/${CHECK}/1`, `/${CHECK}/130`]);
  });

  it('caps the body at 10 KB on a character boundary', async () => {
    const s = await serve();
    const huge = `${'é'.repeat(30_000)}${SECRET}`;
    await pingEnd(`${s.base}/${CHECK}`, 0, huge, fast);
    const got = s.received[0]!.body;
    expect(got.length).toBeLessThanOrEqual(PING_BODY_MAX);
    expect(got.length).toBeGreaterThan(PING_BODY_MAX - 100);
    const text = got.toString('utf8');
    expect(Buffer.from(text, 'utf8').equals(got)).toBe(true); // valid UTF-8: no character cut in half
    expect(text).toMatch(/^é+\n… \(cut by maint/);
    expect(capBytes('short', PING_BODY_MAX)).toBe('short');
  });

  it('masks before cutting, so a secret at the cut is not left half visible', () => {
    const text = `${'a'.repeat(PING_BODY_MAX - 80)}${SECRET}`;
    const cut = capBytes(masker.mask(text), PING_BODY_MAX - 60);
    expect(cut).not.toContain(SECRET.slice(0, 4));
  });

  it('reports a dead monitor and a silent one within the bound, without throwing', async () => {
    const dead = await serve();
    await dead.close();
    let t0 = Date.now();
    const r1 = await pingStart(`${dead.base}/${CHECK}`, { ...fast, runId: RUN_ID });
    // Generous slack over the 600 ms budget: a loaded machine is slow, a missing bound is not.
    expect(Date.now() - t0).toBeLessThan(200 * 3 + 2000);
    expect(r1).toMatchObject({ ok: false, url: `${dead.base}/…` });
    expect(r1.error).toMatch(/ECONNREFUSED/);
    expect(r1.error).not.toContain(CHECK);

    const silent = await serve(() => 'hang');
    t0 = Date.now();
    const r2 = await pingEnd(`${silent.base}/${CHECK}`, 1, 'entry', fast);
    const elapsed = Date.now() - t0;
    expect(r2.ok).toBe(false);
    expect(r2.error).toMatch(/timed out/);
    expect(elapsed).toBeGreaterThanOrEqual(200 * 3 - 20);
    expect(elapsed).toBeLessThan(200 * 3 + 2000);
    // On a loaded machine the later attempts may not reach the server before the deadline.
    expect(silent.received.length).toBeGreaterThanOrEqual(1);
    expect(silent.received.length).toBeLessThanOrEqual(3);
  });

  it('retries a failing monitor', async () => {
    const s = await serve((n, res) => {
      res.statusCode = n < 2 ? 502 : 200;
      res.end();
    });
    const r = await pingStart(`${s.base}/${CHECK}`, fast);
    expect(r.ok).toBe(true);
    expect(s.received).toHaveLength(3);
  });

  it('does not throw on a bad base URL', async () => {
    await expect(pingStart('hc-ping.com/abc', fast)).resolves.toMatchObject({ ok: false });
    await expect(pingEnd('ftp://x/y', 0, 'b', fast)).resolves.toMatchObject({ ok: false, error: 'not an http(s) URL' });
  });
});
