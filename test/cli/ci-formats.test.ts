import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maint, project } from '../helpers/cli.js';

const RB = `title: Pipeline checks
steps:
  - { name: passes, run: "echo fine" }
  - { name: "fails <badly> & loudly", run: "echo 'boom ]]> here' >&2; exit 3" }
  - { name: never runs, run: "true" }
`;

describe('machine-readable output', () => {
  it('--json: NDJSON events on stdout, every line parses, nothing else there', async () => {
    const dir = project({ 'p.yaml': RB });
    const r = await maint(['run', 'p', '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0].type).toBe('run:start');
    expect(events.at(-1)).toMatchObject({ type: 'run:end', status: 'failed', exitCode: 1 });
    const ends = events.filter((e) => e.type === 'step:end').map((e) => `${e.name}:${e.status}`);
    expect(ends).toEqual(['passes:passed', 'fails <badly> & loudly:failed', 'never runs:skipped']);
  });

  it('--junit: a testcase per step, with failures and skips counted', async () => {
    const dir = project({ 'p.yaml': RB });
    const r = await maint(['run', 'p', '--junit', 'reports/junit.xml'], { cwd: dir });
    expect(r.code).toBe(1);
    const xml = readFileSync(join(dir, 'reports/junit.xml'), 'utf8');
    expect(xml).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>/);
    expect(xml).toMatch(/<testsuite [^>]*name="p"[^>]*tests="3"[^>]*failures="1"[^>]*skipped="1"/);
    expect(xml.match(/<testcase /g)).toHaveLength(3);
    expect(xml).toContain('fails &lt;badly&gt; &amp; loudly');
    expect(xml).not.toContain('boom ]]> here'); // split so the CDATA section stays whole
    expect(xml).toMatch(/boom \]\]/);
  });

  it('GitHub Actions: groups, an error annotation, and the step summary', async () => {
    const dir = project({ 'p.yaml': RB });
    const summary = join(dir, 'summary.md');
    const r = await maint(['run', 'p'], { cwd: dir, env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^::group::passes/m);
    expect(r.stdout).toMatch(/^::endgroup::/m);
    expect(r.stdout).toMatch(/^::error[^:]*::.*exit code 3/m);
    expect(existsSync(summary)).toBe(true);
    expect(readFileSync(summary, 'utf8')).toMatch(/\| *passes *\|/);
  });

  it('GitLab CI: collapsible sections per step', async () => {
    const dir = project({ 'p.yaml': RB });
    const r = await maint(['run', 'p'], { cwd: dir, env: { GITLAB_CI: 'true' } });
    expect(r.code).toBe(1);
    const starts = r.stdout.match(/section_start:\d+:maint_\w+/g) ?? [];
    const ends = r.stdout.match(/section_end:\d+:maint_\w+/g) ?? [];
    expect(starts.length).toBeGreaterThanOrEqual(2);
    expect(ends.length).toBe(starts.length);
  });
});
