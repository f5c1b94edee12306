import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../src/exec/events.js';
import type { Plan, PlanStep } from '../../../src/plan/types.js';
import { createJunitReporter } from '../../../src/report/junit.js';

// ---------------------------------------------------------------------------------------------
// A minimal, strict XML 1.0 reader: enough to prove the report is well-formed and to read it.
// It rejects unbalanced or crossed tags, `<` or a bare `&` in text and attributes, unknown
// entities, duplicate attributes, characters XML 1.0 forbids, and more than one root element.

interface El {
  name: string;
  attrs: Record<string, string>;
  children: El[];
  /** Text and CDATA content, entities decoded, CDATA sections joined. */
  text: string;
}

const NAME = /^[A-Za-z_][\w.-]*/;
const FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function decode(raw: string, where: string): string {
  if (raw.includes('<')) throw new Error(`'<' in ${where}`);
  if (where === 'text' && raw.includes(']]>')) throw new Error(`']]>' in ${where}`);
  return raw.replace(/&([^;]*);?/g, (m, ent: string) => {
    if (!m.endsWith(';')) throw new Error(`bare '&' in ${where}`);
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (ent in named) return named[ent]!;
    const num = /^#(x[0-9a-fA-F]+|[0-9]+)$/.exec(ent);
    if (!num) throw new Error(`unknown entity &${ent}; in ${where}`);
    const code = num[1]!.startsWith('x') ? parseInt(num[1]!.slice(1), 16) : parseInt(num[1]!, 10);
    const ch = String.fromCodePoint(code);
    if (FORBIDDEN.test(ch)) throw new Error(`character reference to a forbidden character in ${where}`);
    return ch;
  });
}

function parseXml(xml: string): El {
  if (FORBIDDEN.test(xml)) throw new Error(`forbidden character at ${xml.search(FORBIDDEN)}`);
  let i = 0;
  const stack: El[] = [];
  let root: El | undefined;
  const text = (s: string) => {
    const top = stack.at(-1);
    if (!top) {
      if (s.trim() !== '') throw new Error(`text outside the root element: ${JSON.stringify(s.slice(0, 40))}`);
      return;
    }
    top.text += s;
  };
  if (xml.startsWith('<?xml')) {
    const end = xml.indexOf('?>');
    if (end === -1) throw new Error('unterminated XML declaration');
    i = end + 2;
  }
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    if (lt === -1) {
      text(decode(xml.slice(i), 'text'));
      break;
    }
    if (lt > i) text(decode(xml.slice(i, lt), 'text'));
    if (xml.startsWith('<![CDATA[', lt)) {
      if (stack.length === 0) throw new Error('CDATA outside the root element');
      const end = xml.indexOf(']]>', lt + 9);
      if (end === -1) throw new Error('unterminated CDATA');
      text(xml.slice(lt + 9, end));
      i = end + 3;
      continue;
    }
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt + 4);
      if (end === -1) throw new Error('unterminated comment');
      i = end + 3;
      continue;
    }
    if (xml.startsWith('</', lt)) {
      const m = NAME.exec(xml.slice(lt + 2));
      if (!m) throw new Error(`bad end tag at ${lt}`);
      const close = xml.indexOf('>', lt);
      if (xml.slice(lt + 2 + m[0].length, close).trim() !== '') throw new Error(`junk in end tag at ${lt}`);
      const top = stack.pop();
      if (!top || top.name !== m[0]) throw new Error(`</${m[0]}> closes <${top?.name ?? 'nothing'}>`);
      i = close + 1;
      continue;
    }
    // A start tag: name, attributes (quoted), optional '/'.
    const m = NAME.exec(xml.slice(lt + 1));
    if (!m) throw new Error(`bad tag at ${lt}: ${JSON.stringify(xml.slice(lt, lt + 20))}`);
    const el: El = { name: m[0], attrs: {}, children: [], text: '' };
    let j = lt + 1 + m[0].length;
    for (;;) {
      const ws = /^\s*/.exec(xml.slice(j))![0].length;
      j += ws;
      if (xml.startsWith('/>', j) || xml[j] === '>') break;
      if (ws === 0) throw new Error(`attributes must be separated by white space at ${j}`);
      const a = /^([A-Za-z_][\w.:-]*)\s*=\s*(["'])/.exec(xml.slice(j));
      if (!a) throw new Error(`bad attribute at ${j}: ${JSON.stringify(xml.slice(j, j + 20))}`);
      const q = a[2]!;
      const vStart = j + a[0].length;
      const vEnd = xml.indexOf(q, vStart);
      if (vEnd === -1) throw new Error('unterminated attribute value');
      if (a[1]! in el.attrs) throw new Error(`duplicate attribute ${a[1]}`);
      el.attrs[a[1]!] = decode(xml.slice(vStart, vEnd), `attribute ${a[1]}`);
      j = vEnd + 1;
    }
    const selfClosing = xml.startsWith('/>', j);
    i = j + (selfClosing ? 2 : 1);
    const parent = stack.at(-1);
    if (parent) parent.children.push(el);
    else if (root) throw new Error('more than one root element');
    else root = el;
    if (!selfClosing) stack.push(el);
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.at(-1)!.name}>`);
  if (!root) throw new Error('no root element');
  return root;
}

const child = (el: El, name: string) => el.children.find((c) => c.name === name);

describe('the test XML reader (so the checks below can fail)', () => {
  it.each([
    ['<a><b></a></b>', /closes/],
    ['<a>x < y</a>', /bad tag|'<'/],
    ['<a t="&"/>', /bare '&'/],
    ['<a t="x"/><b/>', /more than one root/],
    ['<a>\u0001</a>', /forbidden/],
    ['<a>&#1;</a>', /forbidden/],
    ['<a><![CDATA[x]]>]]></a>', /']]>' in text/],
    ['<a>', /unclosed/],
  ])('rejects %j', (xml, err) => {
    expect(() => parseXml(xml)).toThrow(err);
  });
});

// ---------------------------------------------------------------------------------------------

const T0 = Date.UTC(2026, 10, 29, 2, 0, 1);
const NASTY = `<&"'> ]]> \u0001bell`;

function scriptedRun(): RunEvent[] {
  let now = T0;
  const t = () => (now += 1000);
  const lines = Array.from({ length: 500 }, (_, k) => `out ${k + 1}`).join('\n') + '\n';
  return [
    { type: 'run:start', time: T0, runId: 'r1', runbook: 'weekly', title: 'Weekly', dryRun: false },
    { type: 'step:start', time: t(), qid: 'backup', name: 'Backup', phase: 'steps', command: 'restic backup /' },
    { type: 'step:output', time: t(), qid: 'backup', stream: 'stdout', text: 'snapshot saved\n' },
    { type: 'step:end', time: t(), qid: 'backup', name: 'Backup', phase: 'steps', status: 'passed', durationMs: 1234, attempts: 1, exitCode: 0 },
    { type: 'step:start', time: t(), qid: 'check', name: 'Check', phase: 'steps', command: 'restic check' },
    { type: 'step:end', time: t(), qid: 'check', name: 'Check', phase: 'steps', status: 'warned', durationMs: 10, attempts: 2, exitCode: 3, warnings: ['warning: 3 files unreadable'] },
    { type: 'step:start', time: t(), qid: 'patch', name: `Patch ${NASTY}`, phase: 'steps', command: 'kubectl apply' },
    { type: 'step:output', time: t(), qid: 'patch', stream: 'stdout', text: lines },
    { type: 'step:output', time: t(), qid: 'patch', stream: 'stderr', text: `error: ${NASTY}\n\u001b[31mred\u001b[0m\n` },
    { type: 'step:end', time: t(), qid: 'patch', name: `Patch ${NASTY}`, phase: 'steps', status: 'failed', durationMs: 2500, attempts: 1, exitCode: 1, reason: `exit code 1: ${NASTY}` },
    { type: 'step:end', time: t(), qid: 'health', name: 'Health', phase: 'steps', status: 'skipped', durationMs: 0, attempts: 0, reason: 'not run: an earlier step failed' },
    { type: 'rollback:start', time: t(), qid: 'patch', name: `Patch ${NASTY}`, command: 'kubectl rollout undo' },
    { type: 'step:output', time: t(), qid: 'patch:rollback', stream: 'stderr', text: 'undo failed: ]]>\n' },
    { type: 'rollback:end', time: t(), qid: 'patch', name: `Patch ${NASTY}`, ok: false, durationMs: 700, reason: 'exit code 2' },
    { type: 'rollback:start', time: t(), qid: 'backup', name: 'Backup', command: 'restic forget latest' },
    { type: 'rollback:end', time: t(), qid: 'backup', name: 'Backup', ok: true, durationMs: 300 },
    { type: 'step:start', time: t(), qid: 'announce', name: 'Announce', phase: 'finally' },
    { type: 'step:end', time: t(), qid: 'announce', name: 'Announce', phase: 'finally', status: 'pending', durationMs: 5, attempts: 0, reason: 'Post on the status page' },
    { type: 'step:start', time: t(), qid: 'cleanup', name: 'Cleanup', phase: 'finally', command: 'rm -rf /tmp/x' },
    { type: 'step:end', time: t(), qid: 'cleanup', name: 'Cleanup', phase: 'finally', status: 'issue', durationMs: 40, attempts: 1, exitCode: 1, reason: 'exit code 1' },
    { type: 'run:end', time: t(), status: 'rollback_failed', exitCode: 3, durationMs: 20_500 },
  ];
}

let dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'maint-junit-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

async function report(events: RunEvent[], opts: { plan?: Plan } = {}, file = join(tmp(), 'reports', 'deep', 'junit.xml')) {
  const r = createJunitReporter(file, { suiteName: 'weekly', ...opts });
  for (const e of events) r.handle(e);
  await r.close();
  const xml = readFileSync(file, 'utf8');
  return { xml, root: parseXml(xml), file };
}

describe('JUnit reporter', () => {
  it('writes well-formed XML with the right counts for passed, warned, failed, skipped, pending steps and a failed rollback', async () => {
    const { root } = await report(scriptedRun());
    expect(root.name).toBe('testsuites');
    const suite = child(root, 'testsuite')!;
    expect(suite.attrs).toMatchObject({ name: 'weekly', tests: '8', failures: '2', errors: '0', skipped: '2', time: '20.500', timestamp: '2026-11-29T02:00:01Z' });
    expect(root.attrs).toMatchObject({ tests: '8', failures: '2', errors: '0', skipped: '2' });

    const cases = suite.children.filter((c) => c.name === 'testcase');
    expect(cases.map((c) => c.attrs.name)).toEqual([
      'Backup', 'Check', `Patch ${NASTY.replace('\u0001', '\\x01')}`, 'Health',
      `rollback: Patch ${NASTY.replace('\u0001', '\\x01')}`, 'rollback: Backup', 'Announce', 'Cleanup',
    ]);
    expect(cases.every((c) => c.attrs.classname === 'weekly')).toBe(true);
    expect(cases[0]!.attrs.time).toBe('1.234');

    const props = Object.fromEntries(child(suite, 'properties')!.children.map((p) => [p.attrs.name, p.attrs.value]));
    expect(props).toMatchObject({ 'maint.run_id': 'r1', 'maint.status': 'rollback_failed', 'maint.exit_code': '3' });
    expect(child(suite, 'system-out')!.text).toContain('failed, ROLLBACK FAILED');

    // warned: passes, warning and attempts in system-out
    const check = cases[1]!;
    expect(child(check, 'failure')).toBeUndefined();
    expect(child(check, 'system-out')!.text).toContain('warning: 3 files unreadable');
    expect(child(check, 'system-out')!.text).toContain('after 2 attempts');

    // failed: message = reason, escaped and back; body = bounded tail of the output
    const failure = child(cases[2]!, 'failure')!;
    expect(failure.attrs.message).toBe(`exit code 1: ${NASTY.replace('\u0001', '\\x01')}`);
    expect(failure.text).toContain(`error: <&"'> ]]> bell`); // the output tail strips the control char
    expect(failure.text).toContain('out 500');
    expect(failure.text).not.toContain('out 400\n');
    expect(failure.text).not.toContain('\u001b');
    expect(failure.text).toContain('red');
    const outputLines = failure.text.split('\n').filter((l) => /^out \d+$/.test(l));
    expect(outputLines.length).toBeLessThanOrEqual(50);
    expect(outputLines.length).toBeGreaterThan(40);

    // skipped and pending
    expect(child(cases[3]!, 'skipped')!.attrs.message).toBe('not run: an earlier step failed');
    expect(child(cases[6]!, 'skipped')!.attrs.message).toBe('pending: Post on the status page');

    // rollbacks: the failed one is a failure with its own output, the good one passes
    const rbFail = child(cases[4]!, 'failure')!;
    expect(rbFail.attrs.message).toBe('exit code 2');
    expect(rbFail.text).toContain('undo failed: ]]>');
    expect(cases[5]!.children).toHaveLength(0);

    // issue (continue_on_error): not a failure, but said in system-out
    expect(child(cases[7]!, 'failure')).toBeUndefined();
    expect(child(cases[7]!, 'system-out')!.text).toContain('continue_on_error');
  });

  it('escapes <&"\' in attributes, splits ]]> in CDATA and never writes a raw control character', async () => {
    const { xml } = await report(scriptedRun());
    expect(xml).toContain('name="Patch &lt;&amp;&quot;&apos;&gt; ]]&gt; \\x01bell"');
    expect(xml).toContain(']]]]><![CDATA[>');
    expect(xml).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
  });

  it('keeps tabs and newlines in attributes as character references, and survives lone surrogates', async () => {
    const events: RunEvent[] = [
      { type: 'run:start', time: T0, runId: 'r', runbook: 'rb', title: 't', dryRun: false },
      { type: 'step:end', time: T0 + 1, qid: 's', name: 'multi\tline\nname \ud800', phase: 'steps', status: 'failed', durationMs: 1, attempts: 1, reason: 'a\nb' },
      { type: 'run:end', time: T0 + 2, status: 'failed', exitCode: 1, durationMs: 2 },
    ];
    const { root, xml } = await report(events);
    const tc = child(child(root, 'testsuite')!, 'testcase')!;
    expect(tc.attrs.name).toBe('multi\tline\nname \ufffd');
    expect(child(tc, 'failure')!.attrs.message).toBe('a\nb');
    expect(xml).toContain('&#10;');
  });

  it('writes atomically into a new directory and replaces an existing report', async () => {
    const dir = tmp();
    const file = join(dir, 'a', 'b', 'junit.xml');
    await report(scriptedRun(), {}, file);
    expect(readdirSync(join(dir, 'a', 'b'))).toEqual(['junit.xml']);
    writeFileSync(file, 'old');
    const { root } = await report(scriptedRun().slice(0, 4), {}, file);
    expect(child(root, 'testsuite')!.attrs.tests).toBe('1');
    expect(readdirSync(join(dir, 'a', 'b'))).toEqual(['junit.xml']);
  });

  it('rejects close() with the path when the report cannot be written', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'file'), '');
    const r = createJunitReporter(join(dir, 'file', 'junit.xml'), { suiteName: 'x' });
    await expect(r.close()).rejects.toMatchObject({ message: expect.stringMatching(/could not write the JUnit report/), code: expect.any(String) });
  });

  it('never replaces what is not a plain file (a symlink to another file)', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'elsewhere'), 'keep me\n');
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'junit.xml'));
    const r = createJunitReporter(join(dir, 'junit.xml'), { suiteName: 'x' });
    await expect(r.close()).rejects.toMatchObject({ message: expect.stringMatching(/could not write the JUnit report .*not a plain file/), code: 'EFTYPE' });
    expect(lstatSync(join(dir, 'junit.xml')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'elsewhere'), 'utf8')).toBe('keep me\n');
  });

  it('counts a step that never ended as an error (maint stopped midway)', async () => {
    const events = scriptedRun().slice(0, 5); // `check` started, no end, no run:end
    const { root } = await report(events);
    const suite = child(root, 'testsuite')!;
    expect(suite.attrs).toMatchObject({ tests: '2', failures: '0', errors: '1' });
    expect(child(suite, 'system-out')!.text).toContain('unfinished');
  });

  describe('groups', () => {
    const step = (qid: string, kind: string, children: PlanStep[] = []) => ({ kind, qid, id: qid, children, finally: [] }) as unknown as PlanStep;
    const plan = { steps: [step('par', 'parallel', [step('a', 'command'), step('b', 'command')]), step('inc', 'include', [step('inc.x', 'command')])], finally: [] } as unknown as Plan;
    const events: RunEvent[] = [
      { type: 'step:start', time: T0, qid: 'par', name: 'Par', phase: 'steps' },
      { type: 'step:end', time: T0, qid: 'a', name: 'A', phase: 'steps', status: 'failed', durationMs: 1, attempts: 1, reason: 'boom' },
      { type: 'step:end', time: T0, qid: 'b', name: 'B', phase: 'steps', status: 'skipped', durationMs: 0, attempts: 0, reason: 'not run: a parallel step failed' },
      { type: 'step:end', time: T0, qid: 'par', name: 'Par', phase: 'steps', status: 'failed', durationMs: 1, attempts: 0, reason: 'failed: a' },
      { type: 'step:end', time: T0, qid: 'inc.x', name: 'X', phase: 'steps', status: 'passed', durationMs: 1, attempts: 1 },
      { type: 'step:end', time: T0, qid: 'inc', name: 'Inc', phase: 'steps', status: 'passed', durationMs: 1, attempts: 0 },
    ];

    it('leaves out parallel and include groups whose children reported, given the plan', async () => {
      const suite = child((await report(events, { plan })).root, 'testsuite')!;
      expect(suite.children.filter((c) => c.name === 'testcase').map((c) => c.attrs.name)).toEqual(['A', 'B', 'X']);
      expect(suite.attrs).toMatchObject({ tests: '3', failures: '1', skipped: '1' });
    });

    it('without the plan still recognises include groups by qid', async () => {
      const suite = child((await report(events)).root, 'testsuite')!;
      expect(suite.children.filter((c) => c.name === 'testcase').map((c) => c.attrs.name)).toEqual(['A', 'B', 'Par', 'X']);
    });

    it('keeps a group that was skipped whole', async () => {
      const skippedGroup: RunEvent[] = [
        { type: 'step:end', time: T0, qid: 'par', name: 'Par', phase: 'steps', status: 'skipped', durationMs: 0, attempts: 0, reason: 'when false' },
      ];
      const suite = child((await report(skippedGroup, { plan })).root, 'testsuite')!;
      expect(suite.attrs).toMatchObject({ tests: '1', skipped: '1' });
    });
  });
});
