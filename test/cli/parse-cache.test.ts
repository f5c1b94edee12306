/**
 * The parse cache through the built CLI: a second run uses the first one's parse, and never a
 * parse that is stale or that someone else could have written.
 */
import { chmodSync, chownSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openParseCache } from '../../src/runbook/parse-cache.js';
import { parseRunbook } from '../../src/runbook/parse.js';
import type { RunbookInput } from '../../src/runbook/schema.js';
import { maint, project, ROOT } from '../helpers/cli.js';

const RUNBOOK = 'vars:\n  word: { default: real }\nsteps:\n  - name: write\n    run: echo {{ vars.word }} > marker.txt\n    readonly: true\n';
/** What the launcher passes as the build: the bundle's SHA-1. */
const BUILD = createHash('sha1').update(readFileSync(join(ROOT, 'dist/maint.cjs'))).digest('hex');

/** A project that has run once, so its cache holds the runbook's parse. */
async function ranOnce(): Promise<{ dir: string; entry: string }> {
  const dir = project({ 'w.yaml': RUNBOOK });
  const r = await maint(['run', 'w', '-q'], { cwd: dir });
  expect(r.code).toBe(0);
  expect(readFileSync(join(dir, 'marker.txt'), 'utf8')).toBe('real\n');
  const entries = readdirSync(join(dir, '.maint/cache'));
  expect(entries).toHaveLength(1);
  return { dir, entry: join(dir, '.maint/cache', entries[0]!) };
}

/**
 * Keeps, for the runbook's very text and this build, a parse that differs from the text's: only
 * a run that reads the entry does what it says.
 */
function forge(dir: string, change: (input: RunbookInput) => void = (i) => ((i.steps[0] as { run: string }).run = 'echo forged > marker.txt')): void {
  const file = join(dir, 'runbooks/w.yaml');
  const text = readFileSync(file, 'utf8');
  const input = parseRunbook('w.yaml', text).runbook!.input;
  change(input);
  const cache = openParseCache(join(dir, '.maint/cache'), BUILD, { write: true })!;
  cache.put(file, text, input);
  cache.save();
}

const marker = (dir: string) => readFileSync(join(dir, 'marker.txt'), 'utf8');

describe('parse cache', () => {
  it('a second run uses the parse the first one kept', async () => {
    const { dir } = await ranOnce();
    forge(dir);
    const r = await maint(['run', 'w', '-q'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(marker(dir)).toBe('forged\n');
  });

  it('an edited runbook is parsed again', async () => {
    const { dir } = await ranOnce();
    forge(dir);
    writeFileSync(join(dir, 'runbooks/w.yaml'), RUNBOOK.replace('default: real', 'default: edited'));
    expect((await maint(['run', 'w', '-q'], { cwd: dir })).code).toBe(0);
    expect(marker(dir)).toBe('edited\n');
  });

  it('an entry or folder others can write is not used', async () => {
    const { dir, entry } = await ranOnce();
    forge(dir);
    chmodSync(entry, 0o660);
    expect((await maint(['run', 'w', '-q'], { cwd: dir })).code).toBe(0);
    expect(marker(dir)).toBe('real\n');

    const again = await ranOnce();
    forge(again.dir);
    chmodSync(join(again.dir, '.maint/cache'), 0o777);
    expect((await maint(['run', 'w', '-q'], { cwd: again.dir })).code).toBe(0);
    expect(marker(again.dir)).toBe('real\n');
  });

  it.skipIf(process.geteuid?.() !== 0)('an entry owned by another user is not used by root', async () => {
    const { dir, entry } = await ranOnce();
    forge(dir);
    chownSync(entry, 1000, 1000);
    expect((await maint(['run', 'w', '-q'], { cwd: dir })).code).toBe(0);
    expect(marker(dir)).toBe('real\n');
  });

  it('a problem found after a cached parse is reported where it is in the file', async () => {
    const { dir } = await ranOnce();
    // The kept parse makes `word` required (the file gives it a default): only a hit stops the run.
    forge(dir, (i) => (i.vars = { word: { required: true } }));
    const r = await maint(['run', 'w', '-q'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^runbooks\/w\.yaml:2:3: vars\.word: required var "word" is not set/m);
  });

  it.skipIf(process.geteuid?.() !== 0)('a runbook root refuses leaves nothing in the cache', async () => {
    const dir = project({ 'w.yaml': RUNBOOK });
    chmodSync(join(dir, 'runbooks/w.yaml'), 0o666);
    const r = await maint(['run', 'w', '-q'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/writable by its group and every user/);
    expect(existsSync(join(dir, '.maint/cache'))).toBe(false);
  });

  it('plan and a dry run read the cache but create nothing', async () => {
    const dir = project({ 'w.yaml': RUNBOOK });
    expect((await maint(['plan', 'w'], { cwd: dir })).code).toBe(0);
    expect((await maint(['run', 'w', '--dry-run'], { cwd: dir })).code).toBe(0);
    expect(existsSync(join(dir, '.maint'))).toBe(false);

    const ran = await ranOnce();
    forge(ran.dir);
    expect((await maint(['plan', 'w'], { cwd: ran.dir })).stdout).toContain('echo forged > marker.txt');
  });
});
