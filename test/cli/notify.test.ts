import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExposition } from '../../src/notify/metrics.js';
import { maint, project } from '../helpers/cli.js';
import { recordingServer } from '../helpers/recording-server.js';

const server = recordingServer();
const seen = server.seen;

const RUNBOOK = `title: Nightly
vars:
  token: { env: HOOK_TEST_TOKEN, secret: true }
steps:
  - { name: fine, run: "true" }
  - { name: breaks, run: "echo leaked {{ vars.token }} >&2; exit 2" }
`;

describe('notifications, healthcheck pings, metrics', () => {
  it('posts the configured outcomes, pings start and exit code, writes the metrics file; secrets masked', async () => {
    seen.length = 0;
    const dir = project({ 'nightly.yaml': RUNBOOK, './node_exporter/.keep': '' });
    writeFileSync(join(dir, 'maint.config.yaml'), `notify:
  - { url: "${server.base()}/hooks/json", on: [failure], format: json }
  - { url: "${server.base()}/hooks/slack", on: [success], format: slack }
healthcheck: ${server.base()}/ping/abc
metrics: ./node_exporter/maint.prom
`);
    const r = await maint(['run', 'nightly'], { cwd: dir, env: { HOOK_TEST_TOKEN: 'hook-secret-value-9' } });
    expect(r.code).toBe(1);
    const urls = seen.map((s) => `${s.method} ${s.url.replace(/\?.*/, '')}`);
    expect(urls).toContain('POST /hooks/json');
    expect(urls).not.toContain('POST /hooks/slack');
    expect(urls).toContain('POST /ping/abc/start');
    expect(urls).toContain('POST /ping/abc/1');
    const hook = JSON.parse(seen.find((s) => s.url === '/hooks/json')!.body);
    expect(hook.run).toMatchObject({ runbook: 'nightly', status: 'failed' });
    for (const s of seen) expect(s.body).not.toContain('hook-secret-value-9');
    const prom = readFileSync(join(dir, 'node_exporter/maint.prom'), 'utf8');
    const samples = parseExposition(prom).samples.filter((x) => x.labels.runbook === 'nightly');
    expect(samples.find((x) => x.name === 'maint_last_run_exit_code')?.value).toBe(1);
    expect(samples.find((x) => x.name === 'maint_last_run_steps_failed')?.value).toBe(1);
  });

  it('a dead webhook and monitor never change the exit code or hang the run; the log notes it', async () => {
    const dir = project({ 'ok.yaml': 'title: Fine\nsteps:\n  - { name: a, run: "true" }\n' });
    // a port nothing listens on
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    await new Promise<void>((r) => dead.close(() => r()));
    writeFileSync(join(dir, 'maint.config.yaml'), `notify:\n  - { url: "${deadUrl}/T000/B000/XXXX", on: [success], format: slack }\nhealthcheck: ${deadUrl}/ping\n`);
    const r = await maint(['run', 'ok'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(15_000);
    const log = readFileSync(join(dir, 'maintenance-log.md'), 'utf8');
    expect(log).toMatch(/\*\*Result\*\*: passed/);
    expect(log).toMatch(/notification to http:\/\/127\.0\.0\.1:\d+\/… failed/);
    expect(log).not.toContain('T000/B000');
  });
});
