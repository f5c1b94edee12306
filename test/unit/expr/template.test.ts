import { describe, expect, it } from 'vitest';
import { celDuration, type ExprContext } from '../../../src/expr/cel.js';
import {
  parseTemplate,
  renderArgv,
  renderShell,
  renderText,
  renderValue,
  templateReferences,
  type Template,
} from '../../../src/expr/template.js';

function tpl(source: string): Template {
  const { template, errors } = parseTemplate(source);
  if (!template) throw new Error(`template errors: ${JSON.stringify(errors)}`);
  return template;
}

const ctx: ExprContext = {
  vars: { host: 'web-1', n: 3, path: '/var/log/my app', list: ['a', 'b'], secret: 's3cr3t' },
  env: { USER: 'ops' },
  now: new Date('2024-01-01T00:00:00Z'),
};

describe('parseTemplate', () => {
  it('splits text and expressions with their offsets', () => {
    const t = tpl('ssh {{ vars.host }} uptime{{vars.n}}');
    expect(t.segments.map((s) => (s.kind === 'text' ? s.text : `<${s.source}@${s.offset}>`))).toEqual([
      'ssh ',
      '<vars.host@7>',
      ' uptime',
      '<vars.n@28>',
    ]);
  });

  it('makes a static template of text without {{', () => {
    expect(tpl('df -h /').segments).toEqual([{ kind: 'text', text: 'df -h /' }]);
    expect(tpl('').segments).toEqual([]);
  });

  it('finds the closing braces past strings and map literals', () => {
    const t = tpl('{{ "}}" + "x" }}-{{ {"a": {"b": 1}}.a.b }}');
    expect(renderText(t, ctx)).toBe('}}x-1');
  });

  it('reads \\{{ as a literal {{', () => {
    const t = tpl("docker inspect --format '\\{{.State.Status}}' {{ vars.host }}");
    expect(renderShell(t, ctx)).toBe("docker inspect --format '{{.State.Status}}' web-1");
  });

  it('reports all errors at once, with offsets', () => {
    const src = 'a {{ }} b {{ stdut }} c {{ vars.x + }} d {{ 1 +';
    const { template, errors } = parseTemplate(src);
    expect(template).toBeNull();
    expect(errors).toHaveLength(4);
    expect(errors[0]).toEqual({ message: expect.stringMatching(/^empty \{\{ \}\}/), offset: 2 });
    expect(errors[1]).toEqual({ message: '{{ stdut }}: unknown name "stdut"; did you mean "stdout"?', offset: src.indexOf('stdut') });
    expect(errors[2]?.message).toMatch(/^\{\{ vars\.x \+ \}\}: syntax error/);
    expect(errors[2]?.offset).toBeGreaterThan(src.indexOf('vars.x'));
    expect(errors[3]).toEqual({ message: expect.stringMatching(/^unclosed \{\{/), offset: src.lastIndexOf('{{') });
  });

  it('points into multi-line sources', () => {
    const src = 'echo ok\necho {{ vars.host.nosuch() }}';
    const { errors } = parseTemplate(src);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.offset).toBe(src.indexOf('vars.host'));
  });
});

describe('rendering', () => {
  it('renderText inserts text of values', () => {
    expect(renderText(tpl('{{ vars.host }}: {{ vars.n * 2 }} {{ vars.list }} {{ now }} {{ null }}|'), ctx)).toBe(
      'web-1: 6 ["a","b"] 2024-01-01T00:00:00.000Z |',
    );
    expect(renderText(tpl('took {{ duration }}'), { duration: celDuration(5_400_000) })).toBe('took 1h30m');
  });

  it('renderValue keeps the type of a lone expression', () => {
    expect(renderValue(tpl('{{ vars.n + 1 }}'), ctx)).toBe(4);
    expect(renderValue(tpl('{{ vars.list }}'), ctx)).toEqual(['a', 'b']);
    expect(renderValue(tpl('{{ vars.n > 1 }}'), ctx)).toBe(true);
    expect(renderValue(tpl(' {{ vars.n }}'), ctx)).toBe(' 3');
    expect(renderValue(tpl('n={{ vars.n }}'), ctx)).toBe('n=3');
    expect(renderValue(tpl('static'), ctx)).toBe('static');
  });

  it('renderShell quotes each value as one word', () => {
    expect(renderShell(tpl('ls -l {{ vars.path }} {{ vars.host }} {{ "" }}'), ctx)).toBe("ls -l '/var/log/my app' web-1 ''");
    expect(renderShell(tpl("echo {{ \"it's\" }}"), ctx)).toBe("echo 'it'\\''s'");
  });

  it('renderArgv inserts values unquoted', () => {
    expect(renderArgv(tpl('--path={{ vars.path }}'), ctx)).toBe('--path=/var/log/my app');
  });

  it('applies mapValue to the text before quoting', () => {
    const mask = (v: string) => (v === 's3cr3t' ? '***' : v);
    expect(renderShell(tpl('login -p {{ vars.secret }} {{ vars.path }}'), ctx, mask)).toBe("login -p '***' '/var/log/my app'");
    expect(renderText(tpl('pw={{ vars.secret }}'), ctx, mask)).toBe('pw=***');
    expect(renderArgv(tpl('{{ vars.secret }}'), ctx, mask)).toBe('***');
  });
});

describe('templateReferences', () => {
  it('unites the references of all expressions', () => {
    const r = templateReferences(tpl('{{ vars.a }} {{ steps.build.outputs.x }} {{ env.USER }} {{ vars["b"] }}'));
    expect([...r.roots].sort()).toEqual(['env', 'steps', 'vars']);
    expect([...r.steps]).toEqual(['build']);
    expect([...r.vars].sort()).toEqual(['a', 'b']);
    expect(templateReferences(tpl('static')).roots.size).toBe(0);
  });
});
