/**
 * The parse cache through the built CLI: a second run uses the first one's parse, and never a
 * parse that is stale or that someone else could have written.
 */
import { chmodSync, chownSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { maint, project } from '../helpers/cli.js';

const RUNBOOK = 'vars:\n  word: { default: real }\nsteps:\n  - name: write\n    run: echo {{ vars.word }} > marker.txt\n    readonly: true\n';

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

/** Rewrites the kept parse so that the step writes `forged`: only a run that reads the entry does. */
function forge(entry: string): void {
  const e = deserialize(readFileSync(entry)) as { input: { steps: { run: string }[] } };
  e.input.steps[0]!.run = 'echo forged > marker.txt';
  writeFileSync(entry, serialize(e));
}

const marker = (dir: string) => readFileSync(join(dir, 'marker.txt'), 'utf8');

describe('parse cache', () => {
  it('a second run uses the parse the first one kept', async () => {
    const { dir, entry } = await ranOnce();
    forge(entry);
    const r = await maint(['run', 'w', '-q'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(marker(dir)).toBe('forged\n');
  });

  it('an edited runbook is parsed again', async () => {
    const { dir, entry } = await ranOnce();
    forge(entry);
    writeFileSync(join(dir, 'runbooks/w.yaml'), RUNBOOK.replace('default: real', 'default: edited'));
    expect((await maint(['run', 'w', '-q'], { cwd: dir })).code).toBe(0);
    expect(marker(dir)).toBe('edited\n');
  });

  it('an entry or folder others can write is not used', async () => {
    const { dir, entry } = await ranOnce();
    forge(entry);
    chmodSync(entry, 0o660);
    expect((await maint(['run', 'w', '-q'], { cwd: dir })).code).toBe(0);
    expect(marker(dir)).toBe('real\n');

    const again = await ranOnce();
    forge(again.entry);
    chmodSync(join(again.dir, '.maint/cache'), 0o777);
    expect((await maint(['run', 'w', '-q'], { cwd: again.dir })).code).toBe(0);
    expect(marker(again.dir)).toBe('real\n');
  });

  it.skipIf(process.geteuid?.() !== 0)('an entry owned by another user is not used by root', async () => {
    const { dir, entry } = await ranOnce();
    forge(entry);
    chownSync(entry, 1000, 1000);
    expect((await maint(['run', 'w', '-q'], { cwd: dir })).code).toBe(0);
    expect(marker(dir)).toBe('real\n');
  });

  it('a problem found after a cached parse is reported where it is', async () => {
    const text = 'vars:\n  word: { required: true }\nsteps:\n  - name: write\n    run: echo {{ vars.word }} > marker.txt\n    readonly: true\n';
    const dir = project({ 'w.yaml': text });
    expect((await maint(['run', 'w', '-q', '--var', 'word=x'], { cwd: dir })).code).toBe(0);
    expect(readdirSync(join(dir, '.maint/cache'))).toHaveLength(1);
    const r = await maint(['run', 'w', '-q'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^runbooks\/w\.yaml:2:3: vars\.word: required var "word" is not set/m);
  });

  it('plan and a dry run read the cache but create nothing', async () => {
    const dir = project({ 'w.yaml': RUNBOOK });
    expect((await maint(['plan', 'w'], { cwd: dir })).code).toBe(0);
    expect((await maint(['run', 'w', '--dry-run'], { cwd: dir })).code).toBe(0);
    expect(existsSync(join(dir, '.maint'))).toBe(false);

    const ran = await ranOnce();
    forge(ran.entry);
    expect((await maint(['plan', 'w'], { cwd: ran.dir })).stdout).toContain('echo forged > marker.txt');
  });
});
