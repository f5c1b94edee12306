import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findOnPath } from '../../src/exec/preflight.js';
import { startKubeApi } from '../harness/kube-api.js';
import { maint, project, ROOT } from '../helpers/cli.js';
import { requireTool } from '../helpers/tools.js';

const TOOLS = ['kubectl', 'psql', 'pg_dump', 'pg_restore', 'restic', 'curl'];
const SHIPPED = readdirSync(join(ROOT, 'runbooks')).filter((f) => !f.startsWith('_')).map((f) => f.replace(/\.yaml$/, ''));
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
/** A kubeconfig that does not exist: no context, whatever this machine has in ~/.kube. */
const NO_KUBE = { KUBECONFIG: join(tmpdir(), 'maint-no-such-kubeconfig') };

/** What each tool itself says its version is, read here independently of maint. */
function versionOf(tool: string): string {
  if (tool === 'kubectl') return JSON.parse(execFileSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' })).clientVersion.gitVersion;
  const out = execFileSync(tool, [tool === 'restic' ? 'version' : '--version'], { encoding: 'utf8' });
  const m = tool === 'restic' ? /^restic (\S+)/.exec(out) : tool === 'curl' ? /^curl (\S+)/.exec(out) : /\(PostgreSQL\) (\S+)/.exec(out);
  return m![1]!;
}

/** A bin folder with links to these tools only, for a PATH that lacks the others. */
function binWith(tools: string[]): string {
  const bin = mkdtempSync(join(tmpdir(), 'maint-bin-'));
  for (const tool of tools) symlinkSync(findOnPath(tool)!, join(bin, tool));
  return bin;
}

describe('maint doctor', () => {
  it('with every tool installed: each one\'s version and path, exit 0', async () => {
    requireTool(...TOOLS);
    const dir = project({});
    const r = await maint(['doctor'], { cwd: dir, env: NO_KUBE });
    expect(r.stderr).toBe('');
    for (const tool of TOOLS) expect(r.stdout).toMatch(new RegExp(`^ok\\s+${tool}\\s+${re(versionOf(tool))}\\s+/\\S*/${tool}$`, 'm'));
    expect(r.stdout).toMatch(/^WARN\s+cluster\s+no context configured/m);
    expect(r.stdout).toMatch(/^ok\s+config file\s+none, using defaults$/m);
    expect(r.stdout).toMatch(new RegExp(`^ok\\s+runbook folder\\s+${re(join(dir, 'runbooks'))}: 0 runbooks$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^ok\\s+shipped runbooks\\s+${re(join(ROOT, 'runbooks'))}: ${SHIPPED.length} runbooks$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^ok\\s+state dir\\s+${re(join(dir, '.maint'))} \\(writable, not created yet\\)$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^ok\\s+node\\s+${re(process.version)}, compiled code cached \\(${re(join(ROOT, 'dist/maint.cjs.cache'))}\\)$`, 'm'));
    expect(r.stdout).not.toMatch(/^(MISSING|FAIL)/m);
    expect(r.code).toBe(0);
    // Checking that the state dir can be written creates nothing.
    expect(existsSync(join(dir, '.maint'))).toBe(false);
  });

  it('a missing tool: exit 1, the runbooks that need it, the apt-get hint; env values never printed', async () => {
    requireTool(...TOOLS);
    const bin = binWith(['node', 'df', ...TOOLS.filter((t) => t !== 'restic')]);
    const secrets = { RESTIC_PASSWORD: 'marker-restic-pw-81723', RESTIC_REPOSITORY: '/srv/marker-repo-5521', DATABASE_URL: 'postgresql://app:marker-db-pw-3307@db/app' };
    const env = { PATH: bin, ...NO_KUBE, ...secrets };
    const dir = project({});
    const r = await maint(['doctor'], { cwd: dir, env });
    expect(r.code).toBe(1);
    const m = /^MISSING\s+restic\s+not on PATH \(needed by ([^)]*)\); install: apt-get install -y restic$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const neededBy = m![1]!.split(', ');
    // Every shipped runbook that names restic in its own `requires`…
    const direct = SHIPPED.filter((n) => /^requires:.*\brestic\b/m.test(readFileSync(join(ROOT, 'runbooks', `${n}.yaml`), 'utf8')));
    expect(direct.length).toBeGreaterThan(2);
    expect(neededBy).toEqual(expect.arrayContaining(direct));
    // …and update-patch, which needs it only through the pg-backup piece it includes.
    expect(readFileSync(join(ROOT, 'runbooks/update-patch.yaml'), 'utf8')).not.toMatch(/^requires:.*restic/m);
    expect(neededBy).toContain('update-patch');
    expect(r.stdout).toMatch(new RegExp(`^ok\\s+psql\\s+${re(versionOf('psql'))}\\s+${re(join(bin, 'psql'))}$`, 'm'));
    expect(r.stdout).toMatch(/^ok\s+PostgreSQL env\s+DATABASE_URL set, PGHOST not set/m);
    expect(r.stdout).toMatch(/^ok\s+restic env\s+RESTIC_REPOSITORY set, RESTIC_PASSWORD set, RESTIC_PASSWORD_FILE not set/m);
    const json = await maint(['doctor', '--json'], { cwd: dir, env });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).env[1].vars.RESTIC_PASSWORD).toBe('set');
    for (const out of [r.stdout, r.stderr, json.stdout, json.stderr]) {
      for (const value of Object.values(secrets)) expect(out).not.toContain(value);
      expect(out).not.toContain('marker');
    }
  });

  it('a missing tool no runbook needs is a warning: exit 0', async () => {
    requireTool(...TOOLS);
    // Runbooks of the shipped names hide the shipped ones: nothing left requires restic.
    const dir = project(Object.fromEntries(SHIPPED.map((n) => [`${n}.yaml`, 'steps:\n  - { name: a, run: "true" }\n'])));
    const r = await maint(['doctor'], { cwd: dir, env: { PATH: binWith(['node', ...TOOLS.filter((t) => t !== 'restic')]), ...NO_KUBE } });
    expect(r.stdout).toMatch(/^WARN\s+restic\s+not on PATH \(no runbook needs it\); install: apt-get install -y restic$/m);
    expect(r.stdout).toMatch(new RegExp(`^ok\\s+runbook folder\\s+\\S+: ${SHIPPED.length} runbooks$`, 'm'));
    expect(r.code).toBe(0);
  });

  it('--json: the config file, its runbook folders, a tool only a user runbook needs', async () => {
    const dir = project({
      './maint.config.yaml': 'runbooks: [./ops, ./nowhere]\nstate: ./var/state\nlog: ./var/maintenance-log.md\n',
      './ops/check.yaml': 'requires: [curl]\nsteps:\n  - { name: a, run: "true" }\n',
      './ops/odd.yaml': 'requires: [maint-no-such-tool]\nsteps:\n  - { name: a, run: "true" }\n',
      './ops/broken.yaml': 'steps: 3\n',
    });
    const r = await maint(['doctor', '--json'], { cwd: dir, env: NO_KUBE });
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout);
    expect(Object.keys(report)).toEqual(['tools', 'kubernetes', 'env', 'config', 'node', 'exit_code']);
    expect(report.config).toEqual({
      file: join(dir, 'maint.config.yaml'),
      runbook_dirs: [
        { path: join(dir, 'ops'), exists: true, runbooks: 3 },
        { path: join(dir, 'nowhere'), exists: false, runbooks: 0 },
      ],
      shipped: { path: join(ROOT, 'runbooks'), exists: true, runbooks: SHIPPED.length },
      invalid_runbooks: ['broken'],
      log: { path: join(dir, 'var/maintenance-log.md'), status: 'ok', exists: false, writable: true },
      state: { path: join(dir, 'var/state'), status: 'ok', exists: false, writable: true },
      parse_cache: { path: join(dir, 'var/state/cache'), status: 'ok', in_use: true },
    });
    expect(report.tools.map((t: { tool: string }) => t.tool)).toEqual(expect.arrayContaining([...TOOLS, 'maint-no-such-tool']));
    expect(report.tools).toContainEqual({ tool: 'maint-no-such-tool', status: 'missing', path: null, version: null, needed_by: ['odd'] });
    expect(report.tools.find((t: { tool: string }) => t.tool === 'curl').needed_by).toContain('check');
    expect(report.kubernetes).toEqual({ status: findOnPath('kubectl') ? 'no-context' : 'no-kubectl' });
    expect(report.env.map((e: { group: string }) => e.group)).toEqual(['postgresql', 'restic']);
    expect(report.exit_code).toBe(1);
    expect(r.code).toBe(1);
    expect(existsSync(join(dir, 'var'))).toBe(false);

    const text = await maint(['doctor'], { cwd: dir, env: NO_KUBE });
    expect(text.stdout).toMatch(new RegExp(`^ok\\s+config file\\s+${re(join(dir, 'maint.config.yaml'))}$`, 'm'));
    expect(text.stdout).toMatch(new RegExp(`^WARN\\s+runbook folder\\s+${re(join(dir, 'nowhere'))}: does not exist$`, 'm'));
    expect(text.stdout).toMatch(/^MISSING\s+maint-no-such-tool\s+not on PATH \(needed by odd\)$/m);
    expect(text.stdout).toMatch(/^WARN\s+invalid runbooks\s+broken /m);
  });

  it('a state dir that cannot be used fails the check', async () => {
    const dir = project({ './var': 'a file where the state dir should be\n' });
    const r = await maint(['doctor'], { cwd: dir, env: { ...NO_KUBE, MAINT_STATE: 'var' } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^FAIL\\s+state dir\\s+${re(join(dir, 'var'))}: is a file$`, 'm'));
    expect(r.code).toBe(1);
  });

  it('warns when the parse cache cannot be used, and says which folder others can change', async () => {
    const dir = project({});
    const ok = await maint(['doctor', '--json'], { cwd: dir, env: NO_KUBE });
    expect(JSON.parse(ok.stdout).config.parse_cache).toEqual({ path: join(dir, '.maint/cache'), status: 'ok', in_use: true });
    chmodSync(dir, 0o777);
    const json = await maint(['doctor', '--json'], { cwd: dir, env: NO_KUBE });
    expect(JSON.parse(json.stdout).config.parse_cache).toEqual({
      path: join(dir, '.maint/cache'), status: 'warning', in_use: false, problem: `${dir}: writable by every user`,
    });
    const text = await maint(['doctor'], { cwd: dir, env: NO_KUBE });
    expect(text.stdout).toMatch(new RegExp(`^WARN\\s+parse cache\\s+${re(join(dir, '.maint/cache'))}: not used, so every run parses its runbooks afresh: ${re(dir)}: writable by every user`, 'm'));
    // A warning only: runs work, they parse afresh.
    expect(JSON.parse(json.stdout).exit_code).toBe(JSON.parse(ok.stdout).exit_code);
  });

  it('the cluster: reachable through the current context, or unreachable with its server', async () => {
    requireTool('kubectl');
    const api = await startKubeApi();
    try {
      const r = await maint(['doctor'], { cwd: project({}), env: api.env });
      expect(r.stdout).toMatch(new RegExp(`^ok\\s+cluster\\s+context fake: API server reachable \\(${re(api.url)}\\)$`, 'm'));
    } finally {
      await api.close();
    }
    // A port nothing listens on.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'maint-kube-')), 'config');
    writeFileSync(kubeconfig, `apiVersion: v1
kind: Config
clusters: [{ name: gone, cluster: { server: "http://127.0.0.1:${port}" } }]
contexts: [{ name: gone, context: { cluster: gone, user: u } }]
current-context: gone
users: [{ name: u, user: {} }]
`);
    const r = await maint(['doctor', '--json'], { cwd: project({}), env: { KUBECONFIG: kubeconfig, HOME: dirname(kubeconfig) } });
    const kube = JSON.parse(r.stdout).kubernetes;
    expect(kube).toMatchObject({ status: 'unreachable', context: 'gone', server: `http://127.0.0.1:${port}` });
    expect(kube.error).toMatch(/refused|connect/i);
  });
});
