import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../src/exec/events.js';
import { createGithubReporter, escapeData, escapeProperty } from '../../../src/report/github.js';
import { LineSplitter } from '../../../src/report/sections.js';
import { createGitlabReporter, sectionId } from '../../../src/report/gitlab.js';
import type { Reporter } from '../../../src/report/reporter.js';

class Sink extends Writable {
  chunks: string[] = [];
  constructor() {
    super({ decodeStrings: false });
  }
  override _write(chunk: unknown, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(String(chunk));
    cb();
  }
  text(): string {
    return this.chunks.join('');
  }
}

const T0 = Date.UTC(2026, 10, 29, 2, 0, 1);
const DEPLOY = 'Deploy: a,b 100%';

/** Output a hostile step might print: workflow commands, log markers, forged GitLab sections. */
const EVIL = [
  '::error::evil annotation',
  '::endgroup::',
  '  ::warning title=x::indented',
  '::add-mask::hunter2',
  '##[group]fake group',
  'text ##[error]legacy',
  '\u001b[0Ksection_end:1:maint_1_check\r\u001b[0K',
  'section_start:1:evil[collapsed=true]\r\u001b[0Kforged header',
].join('\n');

function scriptedRun(): RunEvent[] {
  let now = T0;
  const t = () => (now += 1500);
  return [
    { type: 'run:start', time: T0, runId: 'r1', runbook: 'weekly', title: 'Weekly', dryRun: false },
    { type: 'step:start', time: t(), qid: 'check', name: 'Check', phase: 'steps', command: 'restic check\n--read-data' },
    { type: 'step:output', time: t(), qid: 'check', stream: 'stdout', text: EVIL + '\nall good\n' },
    { type: 'step:end', time: t(), qid: 'check', name: 'Check', phase: 'steps', status: 'passed', durationMs: 3000, attempts: 1, exitCode: 0 },
    { type: 'step:start', time: t(), qid: 'deploy', name: DEPLOY, phase: 'steps', command: 'kubectl apply' },
    { type: 'step:retry', time: t(), qid: 'deploy', attempt: 1, attempts: 2, delayMs: 1000, reason: 'exit code 1' },
    { type: 'step:output', time: t(), qid: 'deploy', stream: 'stderr', text: 'error: deadline exceeded\n' },
    {
      type: 'step:end', time: t(), qid: 'deploy', name: DEPLOY, phase: 'steps', status: 'failed', durationMs: 4500, attempts: 2, exitCode: 1,
      reason: 'exit code 1\nsecond line 50%', warnings: ['warning: low disk'],
    },
    { type: 'step:end', time: t(), qid: 'pipe', name: 'Pipe | <b>name</b>', phase: 'steps', status: 'skipped', durationMs: 0, attempts: 0, reason: 'not run: an earlier step failed' },
    { type: 'rollback:start', time: t(), qid: 'deploy', name: DEPLOY, command: 'kubectl rollout undo' },
    { type: 'step:output', time: t(), qid: 'deploy:rollback', stream: 'stderr', text: 'undo failed\n' },
    { type: 'rollback:end', time: t(), qid: 'deploy', name: DEPLOY, ok: false, durationMs: 700, reason: 'exit code 2' },
    { type: 'step:start', time: t(), qid: 'announce', name: 'Announce', phase: 'finally' },
    { type: 'step:end', time: t(), qid: 'announce', name: 'Announce', phase: 'finally', status: 'pending', durationMs: 5, attempts: 0, reason: 'Post on the status page' },
    { type: 'run:end', time: t(), status: 'rollback_failed', exitCode: 3, durationMs: 21_000 },
  ];
}

async function feed(r: Reporter, events: RunEvent[]) {
  for (const e of events) r.handle(e);
  await r.close();
}

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

// ---------------------------------------------------------------------------------------------
// GitHub Actions

interface GhGroup {
  title: string;
  lines: string[];
}
interface GhView {
  groups: GhGroup[];
  outside: string[];
  annotations: { kind: string; props: Record<string, string>; message: string }[];
  /** Commands the runner would have obeyed other than ours (must stay empty). */
  other: string[];
}

const unescapeData = (s: string) => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
const unescapeProp = (s: string) => unescapeData(s.replace(/%3A/g, ':').replace(/%2C/g, ','));

/**
 * What the Actions runner makes of the log: workflow commands (`::cmd props::data`, trimmed,
 * and legacy `##[cmd]` anywhere in a line) unless switched off by `::stop-commands::`. Throws
 * on a nested group or an endgroup without a group.
 */
function runnerView(text: string): GhView {
  const view: GhView = { groups: [], outside: [], annotations: [], other: [] };
  let stop: string | undefined;
  let open: GhGroup | undefined;
  const lines = text.split('\n');
  expect(lines.pop()).toBe('');
  for (const line of lines) {
    if (stop !== undefined) {
      if (line.trim() === `::${stop}::`) stop = undefined;
      else (open ? open.lines : view.outside).push(line);
      continue;
    }
    const m = /^::([A-Za-z-]+)(?: ([^:]*))?::(.*)$/.exec(line.trim());
    if (m) {
      const [, cmd, props, data] = m as unknown as [string, string, string | undefined, string];
      if (cmd === 'group') {
        if (open) throw new Error(`group "${data}" opened inside "${open.title}"`);
        open = { title: unescapeData(data), lines: [] };
        view.groups.push(open);
      } else if (cmd === 'endgroup') {
        if (!open) throw new Error('endgroup without a group');
        open = undefined;
      } else if (cmd === 'stop-commands') {
        expect(data).toMatch(/^[0-9a-f]{32}$/);
        stop = data;
      } else if (cmd === 'error' || cmd === 'warning' || cmd === 'notice') {
        const p = Object.fromEntries((props ?? '').split(',').filter(Boolean).map((kv) => {
          const eq = kv.indexOf('=');
          return [kv.slice(0, eq), unescapeProp(kv.slice(eq + 1))];
        }));
        view.annotations.push({ kind: cmd, props: p, message: unescapeData(data) });
      } else view.other.push(line);
      continue;
    }
    if (line.includes('##[')) view.other.push(line);
    (open ? open.lines : view.outside).push(line);
  }
  expect(stop).toBeUndefined();
  expect(open).toBeUndefined();
  return view;
}

describe('GitHub Actions reporter', () => {
  it('escapes workflow command data and properties', () => {
    expect(escapeData('a%b\r\nc:d,e')).toBe('a%25b%0D%0Ac:d,e');
    expect(escapeProperty('a%b\r\nc:d,e')).toBe('a%25b%0D%0Ac%3Ad%2Ce');
    // % first: an escape is never escaped twice or left half-done
    expect(escapeData('%0A')).toBe('%250A');
  });

  it('groups each command step and rollback, never nested, with errors and warnings as annotations', async () => {
    const out = new Sink();
    await feed(createGithubReporter(out, {}), scriptedRun());
    const view = runnerView(out.text());

    expect(view.groups.map((g) => g.title)).toEqual(['Check', DEPLOY, `↶ rollback: ${DEPLOY}`]);
    expect(view.annotations).toEqual([
      { kind: 'error', props: { title: `${DEPLOY} failed` }, message: 'exit code 1\nsecond line 50%' },
      { kind: 'warning', props: { title: DEPLOY }, message: 'warning: low disk' },
      { kind: 'error', props: { title: `Rollback failed: ${DEPLOY}` }, message: 'exit code 2' },
      { kind: 'notice', props: { title: 'Manual task pending: Announce' }, message: 'Post on the status page' },
    ]);
    expect(out.text()).toContain('::error title=Deploy%3A a%2Cb 100%25 failed::exit code 1%0Asecond line 50%25\n');

    // Hostile output stayed output, inside its group: no command obeyed, nothing else grouped.
    expect(view.other).toEqual([]);
    const check = view.groups[0]!.lines;
    expect(check[0]).toBe('$ restic check');
    expect(check[1]).toBe('  --read-data');
    expect(check).toContain('::error::evil annotation');
    expect(check).toContain('::endgroup::');
    expect(check).toContain('#\u200b#[group]fake group');
    expect(check.at(-1)).toBe('all good');
    expect(view.groups[1]!.lines).toEqual(['$ kubectl apply', '↻ retry 1/2 in 1.0s: exit code 1', 'error: deadline exceeded']);
    expect(view.groups[2]!.lines).toEqual(['$ kubectl rollout undo', 'undo failed']);

    // Result lines outside the groups, one line each.
    expect(view.outside).toContain('FAIL Deploy: a,b 100% (4.5s): exit code 1 ↵ second line 50%');
    expect(view.outside).toContain('skip Pipe | <b>name</b> (0ms): not run: an earlier step failed');
    expect(view.outside.at(-1)).toBe('■ failed, ROLLBACK FAILED in 21.0s (exit 3)');
  });

  it('appends a markdown summary to $GITHUB_STEP_SUMMARY', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maint-gh-'));
    dirs.push(dir);
    const file = join(dir, 'summary.md');
    writeFileSync(file, 'earlier step\n');
    await feed(createGithubReporter(new Sink(), { GITHUB_STEP_SUMMARY: file }), scriptedRun());
    const md = readFileSync(file, 'utf8');
    expect(md.startsWith('earlier step\n')).toBe(true);
    expect(md).toContain('| Step | Result | Duration |\n| --- | --- | --- |\n| Check | ✅ passed | 3.0s |\n');
    expect(md).toContain('| Deploy: a,b 100% | ❌ failed: exit code 1 ↵ second line 50% | 4.5s |');
    expect(md).toContain('| Pipe \\| &lt;b&gt;name&lt;/b&gt; | ⏭️ skipped: not run: an earlier step failed | 0ms |');
    expect(md).toContain('| ↶ rollback: Deploy: a,b 100% | ❌ rollback failed: exit code 2 | 700ms |');
    expect(md).toContain('| finally: Announce | 📝 pending: Post on the status page | 5ms |');
    expect(md).toContain('**Result**: failed, ROLLBACK FAILED in 21.0s (exit 3) · run `r1`');
    // every table row has exactly 3 cells: unescaped pipes would add more
    for (const row of md.split('\n').filter((l) => l.startsWith('| '))) {
      expect(row.replace(/\\\|/g, '').split('|')).toHaveLength(5);
    }
  });

  it('without $GITHUB_STEP_SUMMARY writes no summary and does not fail', async () => {
    const out = new Sink();
    await expect(feed(createGithubReporter(out, {}), scriptedRun())).resolves.toBeUndefined();
    expect(out.text()).not.toContain('| Step |');
  });

  it('keeps parallel steps apart: one group at a time, the other buffered and printed whole', async () => {
    const out = new Sink();
    const r = createGithubReporter(out, {});
    const ev = (e: RunEvent) => r.handle(e);
    ev({ type: 'step:start', time: T0, qid: 'p1', name: 'P1', phase: 'steps', command: 'one' });
    ev({ type: 'step:start', time: T0, qid: 'p2', name: 'P2', phase: 'steps', command: 'two' });
    ev({ type: 'step:output', time: T0, qid: 'p2', stream: 'stdout', text: 'p2-a\n' });
    ev({ type: 'step:output', time: T0, qid: 'p1', stream: 'stdout', text: 'p1-a\n' });
    expect(out.text()).toContain('p1-a'); // the live group streams
    expect(out.text()).not.toContain('p2-a'); // the other waits
    ev({ type: 'step:end', time: T0, qid: 'p2', name: 'P2', phase: 'steps', status: 'passed', durationMs: 1, attempts: 1 });
    ev({ type: 'step:start', time: T0, qid: 'p3', name: 'P3', phase: 'steps', command: 'three' });
    ev({ type: 'step:output', time: T0, qid: 'p3', stream: 'stdout', text: 'p3-a\n' });
    ev({ type: 'step:output', time: T0, qid: 'p1', stream: 'stdout', text: 'p1-b' }); // no newline yet
    ev({ type: 'step:end', time: T0, qid: 'p1', name: 'P1', phase: 'steps', status: 'failed', durationMs: 1, attempts: 1, reason: 'boom' });
    // p3 went live when p1 ended: its buffered line is out before it ends
    expect(out.text()).toContain('p3-a');
    ev({ type: 'step:output', time: T0, qid: 'p3', stream: 'stdout', text: 'p3-b\n' });
    ev({ type: 'step:end', time: T0, qid: 'p3', name: 'P3', phase: 'steps', status: 'passed', durationMs: 1, attempts: 1 });
    await r.close();

    const view = runnerView(out.text());
    expect(view.groups).toEqual([
      { title: 'P1', lines: ['$ one', 'p1-a', 'p1-b'] },
      { title: 'P2', lines: ['$ two', 'p2-a'] },
      { title: 'P3', lines: ['$ three', 'p3-a', 'p3-b'] },
    ]);
    expect(view.outside).toEqual(['FAIL P1 (1ms): boom', 'ok   P2 (1ms)', 'ok   P3 (1ms)']);
  });

  it('caps a step at 5000 lines: the first as they come, the last at the end, and says how many were left out', async () => {
    const out = new Sink();
    const total = 6000;
    const text = Array.from({ length: total }, (_, k) => `line ${k + 1}`).join('\n') + '\n';
    await feed(createGithubReporter(out, {}), [
      { type: 'step:start', time: T0, qid: 'big', name: 'Big', phase: 'steps', command: 'yes' },
      { type: 'step:output', time: T0, qid: 'big', stream: 'stdout', text },
      { type: 'step:end', time: T0, qid: 'big', name: 'Big', phase: 'steps', status: 'passed', durationMs: 1, attempts: 1 },
    ]);
    const lines = runnerView(out.text()).groups[0]!.lines;
    const shown = lines.filter((l) => /^line \d+$/.test(l));
    expect(shown.length).toBeLessThanOrEqual(5000);
    expect(shown[0]).toBe('line 1');
    expect(shown.at(-1)).toBe(`line ${total}`);
    const note = lines.find((l) => /lines not shown/.test(l));
    expect(note).toBeDefined();
    expect(Number(/(\d+) lines not shown/.exec(note!)![1]) + shown.length).toBe(total);
  });

  it('closes a group left open when the run never ended', async () => {
    const out = new Sink();
    await feed(createGithubReporter(out, {}), scriptedRun().slice(0, 3));
    const view = runnerView(out.text());
    expect(view.groups).toHaveLength(1);
    expect(view.groups[0]!.lines.at(-1)).toMatch(/maint stopped/);
  });
});

describe('a rollback done by hand', () => {
  const events: RunEvent[] = [
    { type: 'run:start', time: T0, runId: 'r1', runbook: 'weekly', title: 'Weekly', dryRun: false },
    { type: 'rollback:manual', time: T0 + 1, qid: 'prune', name: 'Prune', text: 'copy the snapshots back' },
    { type: 'run:end', time: T0 + 2, status: 'failed', exitCode: 1, durationMs: 2 },
  ];

  it('is a line and a warning in GitHub Actions, without a group for a command that never ran', async () => {
    const out = new Sink();
    await feed(createGithubReporter(out, {}), events);
    expect(out.text()).toMatch(/^↶ by hand Prune: copy the snapshots back$/m);
    expect(out.text()).toMatch(/^::warning title=Undo by hand%3A Prune::copy the snapshots back$/m);
    expect(out.text()).not.toMatch(/::group::/);
  });

  it('is a line in GitLab CI, without a section', async () => {
    const out = new Sink();
    await feed(createGitlabReporter(out, { color: false }), events);
    expect(out.text()).toMatch(/^↶ by hand Prune: copy the snapshots back$/m);
    expect(out.text()).not.toMatch(/section_start/);
  });
});

describe('line splitting', () => {
  it('joins chunks split mid-line per stream, treats CR as a line restart and bounds line length', () => {
    const s = new LineSplitter(10);
    expect(s.push('ab', 'stdout')).toEqual([]);
    expect(s.push('err\n', 'stderr')).toEqual(['err']);
    expect(s.push('c\r\nd', 'stdout')).toEqual(['abc']);
    expect(s.push('\n50%\r100%\n', 'stdout')).toEqual(['d', '100%']);
    expect(s.push('x'.repeat(25) + '\ntail', 'stdout')).toEqual(['x'.repeat(10) + '…']);
    expect(s.flush()).toEqual(['tail']);
  });
});

// ---------------------------------------------------------------------------------------------
// GitLab CI

/** GitLab's own section marker pattern (lib/gitlab/regex.rb). */
const GITLAB_SECTION = /section_((?:start)|(?:end)):(\d+):([a-zA-Z0-9_.-]+)(\[(?:\w+=\w+)(?:, ?(?:\w+=\w+))*\])?\r\u001b\[0K/g;

function sections(text: string) {
  const markers = [...text.matchAll(GITLAB_SECTION)].map((m) => ({ kind: m[1]!, ts: Number(m[2]), id: m[3]!, opts: m[4], at: m.index! }));
  const stack: typeof markers = [];
  const pairs: { id: string; start: number; end: number; opts?: string; body: string }[] = [];
  for (const m of markers) {
    if (m.kind === 'start') {
      if (stack.length > 0) throw new Error(`section ${m.id} opened inside ${stack.at(-1)!.id}`);
      stack.push(m);
    } else {
      const open = stack.pop();
      if (!open || open.id !== m.id) throw new Error(`section_end ${m.id} does not close ${open?.id ?? 'anything'}`);
      pairs.push({ id: m.id, start: open.ts, end: m.ts, opts: open.opts, body: text.slice(open.at, m.at) });
    }
  }
  if (stack.length > 0) throw new Error(`unclosed section ${stack[0]!.id}`);
  return pairs;
}

describe('GitLab CI reporter', () => {
  it('makes ids of [a-z0-9_] from the qid and a counter', () => {
    expect(sectionId({ seq: 3, key: 'Inc.Step-1:rollback' })).toBe('maint_3_inc_step_1_rollback');
    expect(sectionId({ seq: 1, key: '::' })).toBe('maint_1');
  });

  it('opens and closes one balanced section per command step and rollback; output cannot forge markers', async () => {
    const out = new Sink();
    await feed(createGitlabReporter(out), scriptedRun());
    const text = out.text();
    const pairs = sections(text);
    expect(pairs.map((p) => p.id)).toEqual(['maint_1_check', 'maint_2_deploy', 'maint_3_deploy_rollback']);
    for (const p of pairs) {
      expect(p.id).toMatch(/^[a-z0-9_]+$/);
      expect(p.opts).toBe('[collapsed=true]');
      expect(p.end).toBeGreaterThanOrEqual(p.start);
    }
    expect(pairs[0]!.start).toBe(Math.floor((T0 + 1500) / 1000));
    expect(pairs[0]!.end).toBe(Math.floor((T0 + 4500) / 1000));
    // The forged markers in the output are there as text, but are not markers.
    expect(pairs[0]!.body).toContain('forged header');
    expect(pairs[0]!.body).toContain('all good');
    expect(text).not.toMatch(/\r(?!\u001b\[0K)/);
  });

  it('prints failure lines and a summary line naming what failed', async () => {
    const out = new Sink();
    await feed(createGitlabReporter(out, { color: false }), scriptedRun());
    const lines = out.text().split('\n');
    expect(lines).toContain('FAIL Deploy: a,b 100% (4.5s): exit code 1 ↵ second line 50%');
    expect(lines).toContain('     warning: low disk');
    expect(lines).toContain('↶ FAIL Deploy: a,b 100% (700ms): exit code 2');
    const end = lines.findIndex((l) => l.startsWith('■ '));
    expect(lines.slice(end, end + 3)).toEqual([
      '■ failed, ROLLBACK FAILED in 21.0s (exit 3)',
      '  failed: Deploy: a,b 100%',
      '  rollback failed: Deploy: a,b 100% (a person must look now)',
    ]);
    // Without colour the only escape sequences are the section markers' own.
    expect(out.text().replace(GITLAB_SECTION, '').replace(/\u001b\[0K/g, '')).not.toMatch(/\u001b\[[0-9;]*m/);
  });

  it('keeps parallel sections from interleaving and expands a failed one printed after the fact', async () => {
    const out = new Sink();
    await feed(createGitlabReporter(out), [
      { type: 'step:start', time: T0, qid: 'a', name: 'A', phase: 'steps', command: 'a' },
      { type: 'step:start', time: T0, qid: 'b', name: 'B', phase: 'steps', command: 'b' },
      { type: 'step:output', time: T0, qid: 'b', stream: 'stdout', text: 'b out\n' },
      { type: 'step:output', time: T0, qid: 'a', stream: 'stdout', text: 'a out\n' },
      { type: 'step:end', time: T0 + 2000, qid: 'b', name: 'B', phase: 'steps', status: 'failed', durationMs: 2000, attempts: 1, reason: 'boom' },
      { type: 'step:end', time: T0 + 3000, qid: 'a', name: 'A', phase: 'steps', status: 'passed', durationMs: 3000, attempts: 1 },
      { type: 'run:end', time: T0 + 3000, status: 'failed', exitCode: 1, durationMs: 3000 },
    ]);
    const pairs = sections(out.text());
    expect(pairs.map((p) => [p.id, p.opts])).toEqual([['maint_1_a', '[collapsed=true]'], ['maint_2_b', undefined]]);
    expect(pairs[0]!.body).toContain('a out');
    expect(pairs[0]!.body).not.toContain('b out');
    expect(pairs[1]!.body).toContain('b out');
  });
});
