import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { schemaRef } from '../../src/cli/commands/init.js';
import { maint, ROOT } from '../helpers/cli.js';

const SCHEMA = join(ROOT, 'schema/runbook.schema.json');
const SHIPPED = readdirSync(join(ROOT, 'runbooks')).filter((f) => f.endsWith('.yaml'));
const emptyDir = () => mkdtempSync(join(tmpdir(), 'maint-init-'));
const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8');

async function initialized(): Promise<string> {
  const dir = emptyDir();
  const r = await maint(['init'], { cwd: dir });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return dir;
}

describe('maint init', () => {
  it('creates the config and the example runbook, and says what to run next', async () => {
    const parent = emptyDir();
    const r = await maint(['init', 'ops'], { cwd: parent });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/created\s+maint\.config\.yaml/);
    expect(r.stdout).toMatch(/created\s+runbooks\/example\.yaml/);
    for (const next of ['cd ops', 'maint validate', 'maint plan example', 'maint run example']) expect(r.stdout).toContain(next);
    const config = parse(read(join(parent, 'ops'), 'maint.config.yaml')) as Record<string, unknown>;
    expect(config).toEqual({ runbooks: ['./runbooks'], log: './maintenance-log.md', state: './.maint' });
    expect(read(join(parent, 'ops'), 'runbooks/example.yaml')).toMatch(/^# yaml-language-server: \$schema=/);
  });

  it('writes a $schema reference that resolves, from the runbooks folder, to the shipped schema', async () => {
    const dir = await initialized();
    const ref = /^# yaml-language-server: \$schema=(\S+)\n/.exec(read(dir, 'runbooks/example.yaml'))![1]!;
    const file = ref.startsWith('file:') ? fileURLToPath(ref) : resolve(dir, 'runbooks', ref);
    expect(existsSync(file)).toBe(true);
    expect(realpathSync(file)).toBe(realpathSync(SCHEMA));
  });

  it('gives an example that passes validate --strict, with the pieces it includes, and plans without vars', async () => {
    const dir = await initialized();
    const all = await maint(['validate', '--strict'], { cwd: dir });
    expect(all.stderr).toBe('');
    expect(all.stdout.trim()).toBe(`${SHIPPED.length + 1} runbooks valid (strict)`);
    expect(all.code).toBe(0);

    const plan = await maint(['plan', 'example'], { cwd: dir });
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('runbook http-health with url=http://localhost:8080/health');
    expect(plan.stdout).toContain('runbook disk-use with path=/, max_pct=90');
    expect(plan.stdout).toMatch(/Load low enough to start .*\(readonly\)/);
    expect(plan.stdout).toContain('rollback: $ rm -f ./maintenance.flag');
    expect(plan.stdout).toContain('manual: Load was');
  });

  it('writes a config maint loads: runbooks are found from a subfolder, relative to the config', async () => {
    const dir = await initialized();
    const sub = join(dir, 'deep/er');
    mkdirSync(sub, { recursive: true });
    const r = await maint(['list'], { cwd: sub });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const example = r.stdout.split('\n').find((l) => l.startsWith('example '));
    expect(example?.split(/\s{2,}/)).toEqual(['example', 'Example maintenance', '5', join(dir, 'runbooks/example.yaml')]);
  });

  it('comments out settings that are real config keys: uncommented, the config still loads', async () => {
    const dir = await initialized();
    // Commented settings are `# key:` or `#   continuation`; prose comments start with a word and no colon.
    const uncommented = read(dir, 'maint.config.yaml').replace(/^# (?=[a-z_]+:|\s)/gm, '');
    expect(Object.keys(parse(uncommented) as object).sort()).toEqual(['healthcheck', 'log', 'metrics', 'notify', 'runbooks', 'secret_env', 'state', 'vars']);
    writeFileSync(join(dir, 'maint.config.yaml'), uncommented);
    const r = await maint(['list'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^example\s/m);
  });

  it('keeps files that exist, creates the missing ones, and overwrites with --force', async () => {
    const dir = await initialized();
    const fresh = read(dir, 'runbooks/example.yaml');
    writeFileSync(join(dir, 'runbooks/example.yaml'), 'title: Mine\nsteps: [{ name: a, manual: b }]\n');
    rmSync(join(dir, 'maint.config.yaml'));

    const again = await maint(['init'], { cwd: dir });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/kept\s+runbooks\/example\.yaml \(it exists; --force overwrites it\)/);
    expect(again.stdout).toMatch(/created\s+maint\.config\.yaml/);
    expect(read(dir, 'runbooks/example.yaml')).toBe('title: Mine\nsteps: [{ name: a, manual: b }]\n');

    const forced = await maint(['init', '--force'], { cwd: dir });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/overwritten\s+runbooks\/example\.yaml/);
    expect(forced.stdout).toMatch(/overwritten\s+maint\.config\.yaml/);
    expect(read(dir, 'runbooks/example.yaml')).toBe(fresh);
  });
});

describe('schemaRef', () => {
  it('is relative when maint is inside the project (node_modules), so it travels with it', () => {
    expect(schemaRef('/srv/ops', '/srv/ops/runbooks', '/srv/ops/node_modules/maint/schema/runbook.schema.json')).toBe(
      '../node_modules/maint/schema/runbook.schema.json',
    );
  });

  it('is a file:// URL when maint is installed outside the project', () => {
    expect(schemaRef('/srv/ops', '/srv/ops/runbooks', '/usr/lib/node_modules/maint/schema/runbook.schema.json')).toBe(
      'file:///usr/lib/node_modules/maint/schema/runbook.schema.json',
    );
  });
});
