import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpService, type HttpService } from '../../../src/stack/http-service.js';
import { requireTool } from '../../helpers/tools.js';

const exec = promisify(execFile);

/** The runbooks' probe: status code and total time in seconds. */
async function probe(url: string): Promise<{ code: number; seconds: number }> {
  const { stdout } = await exec('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{time_total}', url]);
  const [code, seconds] = stdout.split(' ').map(Number);
  return { code: code ?? NaN, seconds: seconds ?? NaN };
}

let service: HttpService | undefined;
afterEach(async () => {
  await service?.stop();
  service = undefined;
});

describe('startHttpService', () => {
  it('healthy, then failing, then slow, as set(); curl sees each', async () => {
    if (!requireTool('curl')) return;
    service = await startHttpService();
    expect(service.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await probe(service.healthUrl)).toMatchObject({ code: 200 });
    expect(await probe(service.readyUrl)).toMatchObject({ code: 200 });
    expect((await exec('curl', ['-sS', service.healthUrl])).stdout).toBe('{"status":"ok"}\n');
    expect(await probe(`${service.url}/nope`)).toMatchObject({ code: 404 });

    service.set({ status: 503 });
    expect(await probe(service.healthUrl)).toMatchObject({ code: 503 });
    expect((await exec('curl', ['-sS', service.readyUrl])).stdout).toBe('{"status":"not ready"}\n');

    service.set({ status: 200, delayMs: 700 });
    const slow = await probe(service.healthUrl);
    expect(slow.code).toBe(200);
    expect(slow.seconds).toBeGreaterThanOrEqual(0.7);
    console.info(`curl time_total with delayMs 700: ${slow.seconds} s`);

    service.set({ reset: true, paths: { '/ready': { status: 500 } } });
    expect(await probe(service.healthUrl)).toMatchObject({ code: 200 });
    expect(await probe(service.readyUrl)).toMatchObject({ code: 500 });
    service.set({ paths: { '/ready': null } });
    expect(await probe(service.readyUrl)).toMatchObject({ code: 200 });
    expect(service.requests).toBe(10);
    expect(() => service?.set({ status: 42 })).toThrow();
  });

  it('POST /_control flips it from another process', async () => {
    if (!requireTool('curl')) return;
    service = await startHttpService();
    const post = (body: string) => exec('curl', ['-sS', '-w', ' %{http_code}', '-X', 'POST', '-d', body, service!.controlUrl]);
    expect((await post('{"status":502,"paths":{"/ready":{"delayMs":300}}}')).stdout).toBe(
      '{"status":502,"delayMs":0,"paths":{"/ready":{"delayMs":300}}}\n 200',
    );
    expect(await probe(service.healthUrl)).toMatchObject({ code: 502 });
    const ready = await probe(service.readyUrl);
    expect(ready).toMatchObject({ code: 502 });
    expect(ready.seconds).toBeGreaterThanOrEqual(0.3);
    expect((await post('{"status":"bad"}')).stdout).toMatch(/^\{"error":".*status.*"\}\n 400$/s);
    expect((await post('{"statsu":500}')).stdout).toMatch(/^\{"error":".*statsu.*"\}\n 400$/s);
    expect((await post('{"reset":true}')).stdout).toBe('{"status":200,"delayMs":0,"paths":{}}\n 200');
    expect(JSON.parse((await exec('curl', ['-sS', service.controlUrl])).stdout)).toEqual({ status: 200, delayMs: 0, paths: {} });
    expect(service.requests).toBe(2);
  });

  it('stop() closes at once, even with a slow request pending', async () => {
    service = await startHttpService({ initial: { delayMs: 60_000 } });
    const pending = fetch(service.healthUrl).then(
      () => 'answered',
      () => 'cut',
    );
    while (service.requests === 0) await new Promise((r) => setTimeout(r, 5));
    const started = performance.now();
    await service.stop();
    // Generous for a loaded machine: the request it cuts would otherwise wait 60 s.
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(await pending).toBe('cut');
    await expect(fetch(service.healthUrl)).rejects.toThrow();
    await service.stop(); // Idempotent.
  });
});
