/**
 * The newcomer matrix: every shipped runbook (the `_` pieces too, alone) × every first command a
 * new user types, in an empty folder with no config, under an empty environment (PATH and HOME
 * only) and again with the variables the README tells them to export. Whatever is missing, maint
 * answers with positioned problems naming each missing var and how to set it, exit 2, and runs
 * nothing; where nothing is missing the plan is shown, exit 0. Never an internal error.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { parse } from 'yaml';
import { maint, ROOT } from '../helpers/cli.js';
import { missingVars, type MissingVar } from '../helpers/required-vars.js';

const DIR = join(ROOT, 'runbooks');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

/** The README's `export` line (the password is a marker, so the test can see it never printed). */
const README_VARS = { DATABASE_URL: 'postgresql://app@db.internal/app', RESTIC_REPOSITORY: '/srv/restic', RESTIC_PASSWORD: 'newcomer-restic-pw-6142' };

/** Only PATH and a fresh HOME: nothing of the test's own environment (no TMPDIR, LANG, NO_COLOR). */
function bareEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  return { PATH: process.env.PATH, HOME: mkdtempSync(join(tmpdir(), 'maint-newcomer-home-')), TMPDIR: undefined, LANG: undefined, NO_COLOR: undefined, ...extra };
}

const ENVS: Record<string, Record<string, string>> = { 'an empty environment': {}, "the README's variables": README_VARS };

const POSITIONED = /^\S+:\d+:\d+: \S/;
const SUMMARY = /^maint: (\d+) problems? found; nothing was run$/;

/** Whether `text` names `v` and the ways to set it (the --var for the runbook's own vars, and the env var). */
function names(text: string, v: MissingVar): boolean {
  const named = new RegExp(`vars\\.${v.name}\\b|"${v.name}"`);
  const line = text.split('\n').find((l) => named.test(l));
  if (!line) return false;
  if (v.env && !line.includes(v.env)) return false;
  return !v.root || line.includes(`--var ${v.name}=`);
}

interface Cell { file: string; runbook: string; command: string[]; envName: string; env: Record<string, string>; missing: MissingVar[] }

const cells: Cell[] = [];
for (const file of FILES) {
  const doc = parse(readFileSync(join(DIR, file), 'utf8'));
  const runbook = file.replace(/\.yaml$/, '').replace(/^_/, '');
  for (const [envName, env] of Object.entries(ENVS)) {
    const missing = missingVars(DIR, file, env);
    const commands = [['plan', runbook], ['plan', runbook, '--json'], ['run', runbook, '--dry-run']];
    // `run` (and `dr-test`) with nothing missing would really run the runbook against whatever
    // the machine has: not a first-command check. With something missing they must refuse before
    // any step.
    if (missing.length > 0) commands.push(['run', runbook]);
    if (doc.objectives) commands.push(missing.length > 0 ? ['dr-test', runbook] : ['dr-test', runbook, '--dry-run']);
    for (const command of commands) cells.push({ file, runbook, command, envName, env, missing });
  }
}

describe('newcomer matrix', () => {
  it('covers every shipped runbook and piece', ({ expect }) => {
    expect(FILES.length).toBeGreaterThanOrEqual(8);
    expect(new Set(cells.map((c) => c.file)).size).toBe(FILES.length);
    expect(cells.filter((c) => c.command[0] === 'dr-test').length).toBeGreaterThanOrEqual(2);
  });

  for (const { file, command, envName, env, missing } of cells) {
    const title = `maint ${command.join(' ')} under ${envName}: ${missing.length ? `exit 2 naming ${missing.map((v) => v.name).join(', ')}` : 'exit 0'}`;
    it.concurrent(title, async ({ expect }) => {
      const cwd = mkdtempSync(join(tmpdir(), 'maint-newcomer-'));
      const r = await maint(command, { cwd, env: bareEnv(env) });
      const out = `${r.stdout}${r.stderr}`;
      const context = `${file}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
      expect(out, context).not.toMatch(/\n\s+at .*:\d+:\d+\)?$/m); // no stack
      expect(out, context).not.toContain(README_VARS.RESTIC_PASSWORD);
      // Nothing executed. `plan` and dry runs leave nothing behind; a real `run`/`dr-test` that is
      // refused is recorded as refused (a scheduled check that broke must be noticed), no more.
      const refusedRun = missing.length > 0 && !command.includes('--dry-run') && command[0] !== 'plan';
      if (refusedRun) {
        const log = readFileSync(join(cwd, 'maintenance-log.md'), 'utf8');
        expect(log, context).toMatch(/\*\*Result\*\*: refused, nothing was run \(exit 2\)/);
        expect(log, context).toContain('- (no steps)');
        for (const v of missing) expect(names(log, v), `${v.name} not named in the log entry\n${context}`).toBe(true);
        const runs = readdirSync(join(cwd, '.maint/runs'));
        expect(runs, context).toHaveLength(1);
        expect(JSON.parse(readFileSync(join(cwd, '.maint/runs', runs[0]!, 'run.json'), 'utf8')).status, context).toBe('refused');
      } else {
        expect(existsSync(join(cwd, 'maintenance-log.md')), context).toBe(false);
        expect(existsSync(join(cwd, '.maint/runs')), context).toBe(false);
      }
      if (missing.length === 0) {
        expect(r.stderr, context).toBe('');
        expect(r.code, context).toBe(0);
        if (command.includes('--json')) expect(() => JSON.parse(r.stdout), context).not.toThrow();
        return;
      }
      expect(r.code, context).toBe(2);
      const lines = r.stderr.split('\n').filter(Boolean);
      const summary = SUMMARY.exec(lines.at(-1) ?? '');
      expect(summary, context).not.toBeNull();
      const problems = lines.slice(0, -1);
      for (const line of problems) expect(line, context).toMatch(POSITIONED);
      expect(Number(summary![1]), context).toBe(problems.length);
      for (const v of missing) expect(names(r.stderr, v), `${v.name} (${v.file}) not named with how to set it\n${context}`).toBe(true);
    });
  }
});
