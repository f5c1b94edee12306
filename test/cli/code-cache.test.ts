/**
 * The bundle's V8 code cache (bin/load.js, scripts/code-cache.mjs): the built CLI starts from it,
 * and never runs compiled code that was made from another source.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { assertNoInternalError, childEnv, maint, project, ROOT } from '../helpers/cli.js';

const ONE_STEP = { 'one.yaml': 'steps:\n  - { name: one, run: [/bin/true], readonly: true }\n' };

/** A copy of the installed package (package.json, bin/, dist/) that a test may change. */
function packageCopy(): string {
  const pkg = mkdtempSync(join(tmpdir(), 'maint-pkg-'));
  for (const entry of ['package.json', 'bin', 'dist']) cpSync(join(ROOT, entry), join(pkg, entry), { recursive: true });
  return pkg;
}

function run(pkg: string, args: string[], cwd: string, nodeFlags: string[] = []) {
  const r = spawnSync(process.execPath, [...nodeFlags, join(pkg, 'bin/maint.js'), ...args], { cwd, encoding: 'utf8', env: childEnv() });
  assertNoInternalError(args.join(' '), r.status, `${r.stderr}\n${r.stdout}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('code cache', () => {
  it('the built CLI starts from it, and doctor says so', async () => {
    const r = await maint(['doctor', '--json'], { cwd: project({}) });
    const node = JSON.parse(r.stdout).node;
    expect(node).toEqual({
      version: process.version,
      code_cache: 'used',
      cache_file: join(ROOT, 'dist/maint.cjs.cache'),
      cache_writer: join(ROOT, 'scripts/code-cache.mjs'),
    });
  });

  it('a bundle changed after the build runs as changed: the cache made from the old source is not used', () => {
    const pkg = packageCopy();
    const bundle = join(pkg, 'dist/maint.cjs');
    // The same length, in the summary line that the build's warm-up run compiled: V8 itself
    // checks only the source's length, so only the hash in the cache header tells them apart.
    const edited = readFileSync(bundle, 'utf8').replaceAll('(exit ${', '(EXIT ${');
    expect(edited.length).toBe(readFileSync(bundle, 'utf8').length);
    writeFileSync(bundle, edited);
    const dir = project(ONE_STEP);

    const r = run(pkg, ['run', 'one', '-q'], dir);
    expect(r.stdout).toMatch(/passed in \S+ \(EXIT 0\)/);
    expect(r.code).toBe(0);
    expect(JSON.parse(run(pkg, ['doctor', '--json'], dir).stdout).node.code_cache).toBe('missing');

    // The control: with the header forged to match, V8 takes the stale cache and the old code runs.
    const cacheFile = join(pkg, 'dist/maint.cjs.cache');
    const cache = readFileSync(cacheFile);
    createHash('sha1').update(edited).digest().copy(cache, 0);
    writeFileSync(cacheFile, cache);
    expect(run(pkg, ['run', 'one', '-q'], dir).stdout).toMatch(/passed in \S+ \(exit 0\)/);
  });

  it('a cache V8 refuses (other V8 flags) costs only time: the run works, doctor warns', () => {
    const dir = project(ONE_STEP);
    const r = run(ROOT, ['run', 'one', '-q'], dir, ['--stack-size=900']);
    expect(r.stdout).toMatch(/passed in \S+ \(exit 0\)/);
    expect(r.code).toBe(0);
    const doctor = run(ROOT, ['doctor'], dir, ['--stack-size=900']);
    expect(doctor.stdout).toMatch(/^WARN\s+node\s+v[\d.]+; the code cache is refused by this Node .*: node \S+\/scripts\/code-cache\.mjs makes one$/m);
  });
});
