import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maint, project, ROOT } from '../helpers/cli.js';
import { requireTool } from '../helpers/tools.js';

describe('maint list, --version, colour', () => {
  it('lists runbooks with title, schedule and step count; --json too', async () => {
    const dir = project({
      'weekly.yaml': 'title: Weekly maintenance\nschedule: "0 2 * * SUN"\nsteps:\n  - { name: a, run: "true" }\n  - { name: b, run: "true" }\n',
      '_piece.yaml': 'steps:\n  - { name: a, run: "true" }\n',
    });
    const r = await maint(['list'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^weekly\s+Weekly maintenance\s+0 2 \* \* SUN\s+2\s+\S*runbooks\/weekly\.yaml$/m);
    expect(r.stdout).not.toMatch(/piece/);
    const json = JSON.parse((await maint(['list', '--json'], { cwd: dir })).stdout);
    expect(json).toContainEqual(expect.objectContaining({ name: 'weekly', steps: 2, valid: true }));
  });

  it('--version prints the package version', async () => {
    const r = await maint(['--version'], { cwd: ROOT });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('a bad flag is exit 2', async () => {
    const r = await maint(['run', 'x', '--no-such-flag'], { cwd: ROOT });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option/);
  });

  it('FORCE_COLOR colours plain output; NO_COLOR wins', async () => {
    const dir = project({ 'c.yaml': 'steps:\n  - { name: a, run: "true" }\n' });
    const forced = await maint(['run', 'c'], { cwd: dir, env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
    expect(forced.stdout).toMatch(/\u001b\[32m/);
    const none = await maint(['run', 'c'], { cwd: dir, env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
    expect(none.stdout).not.toMatch(/\u001b\[/);
  });
});

describe('curl against a local HTTP service', () => {
  it('checks status and latency with outputs and expect', async () => {
    requireTool('curl');
    let slow = false;
    const server = createServer((req, res) => {
      const reply = () => {
        res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'ok' }));
      };
      if (slow) setTimeout(reply, 600);
      else reply();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
    try {
      const dir = project({
        'health.yaml': `vars:
  url: http://localhost/health
requires: [curl]
steps:
  - name: API health
    id: api
    readonly: true
    run: curl -sS -o /dev/null -w '%{http_code} %{time_total}' {{ vars.url }}
    outputs:
      status: int(stdout.split(" ")[0])
      seconds: double(stdout.split(" ")[1])
    expect:
      - steps.api.outputs.status == 200
      - steps.api.outputs.seconds < 0.5
`,
      });
      const ok = await maint(['run', 'health', '--var', `url=${url}`], { cwd: dir });
      expect(ok.stdout).toMatch(/ok\s+API health/);
      expect(ok.code).toBe(0);
      slow = true;
      const late = await maint(['run', 'health', '--var', `url=${url}`], { cwd: dir });
      expect(late.code).toBe(1);
      expect(late.stdout).toMatch(/FAIL API health .*expected steps\.api\.outputs\.seconds < 0\.5/);
      const missing = await maint(['run', 'health', '--var', `url=${url.replace('/health', '/nope')}`], { cwd: dir });
      expect(missing.code).toBe(1);
      expect(missing.stdout).toMatch(/expected steps\.api\.outputs\.status == 200/);
      // the shipped piece, included with vars
      slow = false;
      const dir2 = project({ 'site.yaml': `vars:\n  base: x\nsteps:\n  - name: API\n    runbook: http-health\n    vars: { url: "{{ vars.base }}", max_seconds: 0.5 }\n` });
      const inc = await maint(['run', 'site', '--var', `base=${url}`], { cwd: dir2 });
      expect(inc.stdout).toMatch(/ok\s+http:\/\/127\.0\.0\.1:\d+\/health answers 200 within 0\.5s/);
      expect(inc.code).toBe(0);
      expect((await maint(['validate', 'http-health', '--strict'], { cwd: dir2 })).code).toBe(0);
    } finally {
      server.close();
    }
  });
});
