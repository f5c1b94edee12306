import { describe, expect, it } from 'vitest';
import {
  ExprError,
  celDuration,
  checkExpr,
  compile,
  evaluateBool,
  evaluatePlain,
  type ExprContext,
} from '../../../src/expr/cel.js';

const now = new Date('2024-01-01T00:00:00Z');
const run = (src: string, ctx: ExprContext = {}) => compile(src).evaluate({ now, ...ctx });
const plain = (src: string, ctx: ExprContext = {}) => evaluatePlain(compile(src), { now, ...ctx });
const bool = (src: string, ctx: ExprContext = {}) => evaluateBool(compile(src), { now, ...ctx });

function compileError(src: string): ExprError {
  const err = checkExpr(src);
  if (!err) throw new Error(`expected ${src} to fail`);
  return err;
}

describe('timestamps and durations', () => {
  const cert = (notAfter: string) => ({ json: { items: [{ status: { notAfter } }] } });
  const expiresLater = 'timestamp(json.items[0].status.notAfter) - now > duration("720h")';

  it('compares a certificate expiry with now', () => {
    expect(bool(expiresLater, cert('2024-03-01T00:00:00Z'))).toBe(true); // 60 days
    expect(bool(expiresLater, cert('2024-01-15T00:00:00Z'))).toBe(false); // 14 days
  });

  it('works inside a comprehension with the spec example', () => {
    const ctx = { json: { items: [{ status: { notAfter: '2024-03-01T00:00:00Z' } }, { status: { notAfter: '2024-01-02T00:00:00Z' } }] } };
    expect(bool('json.items.all(c, timestamp(c.status.notAfter) - now > duration("720h"))', ctx)).toBe(false);
    expect(bool('json.items.exists(c, timestamp(c.status.notAfter) - now > duration("720h"))', ctx)).toBe(true);
  });

  it('has the `duration` variable next to the duration() and timestamp() functions', () => {
    const ctx = { duration: celDuration(90_000) };
    expect(bool('duration < duration("5m")', ctx)).toBe(true);
    expect(bool('duration > duration("1m")', ctx)).toBe(true);
    expect(plain('duration', ctx)).toBe('1m30s');
    expect(plain('now + duration', ctx)).toBe('2024-01-01T00:01:30.000Z');
    expect(plain('timestamp("2024-01-01T01:30:00Z") - now')).toBe('1h30m');
    expect(plain('duration.getSeconds()', ctx)).toBe(90);
    // milliseconds are accepted too
    expect(bool('duration == duration("1.5s")', { duration: 1500 })).toBe(true);
  });

  it('reads now, defaulting to the current time', () => {
    expect(plain('now')).toBe('2024-01-01T00:00:00.000Z');
    const t = compile('now').evaluate({});
    expect(t).toBeInstanceOf(Date);
    expect(Math.abs((t as Date).getTime() - Date.now())).toBeLessThan(5000);
  });
});

describe('string functions', () => {
  it('parses the usage of `df --output=pcent`', () => {
    const stdout = 'Use%\n 42%\n';
    expect(run('int(stdout.split("\\n")[1].trim().replace("%", ""))', { stdout })).toBe(42n);
    expect(bool('int(stdout.split("\\n")[1].trim().replace("%", "")) < 85', { stdout })).toBe(true);
  });

  it('replace replaces all occurrences, or the first n', () => {
    expect(run('"a-b-c-d".replace("-", "+")')).toBe('a+b+c+d');
    expect(run('"a-b-c-d".replace("-", "+", 2)')).toBe('a+b+c-d');
    expect(run('"a-b-c-d".replace("-", "+", 0)')).toBe('a-b-c-d');
    expect(run('"a-b-c-d".replace("-", "+", -1)')).toBe('a+b+c+d');
    expect(run('"abc".replace("", "_")')).toBe('_a_b_c_');
    expect(run('"abc".replace("", "_", 2)')).toBe('_a_bc');
    // `$&` is no pattern: the replacement is literal
    expect(run('"x".replace("x", "$&$&")')).toBe('$&$&');
    expect(run('json.s.replace("a", "b")', { json: { s: 'banana' } })).toBe('bbnbnb');
  });

  it('has the other string functions operators use', () => {
    expect(run('"  hi \\n".trim()')).toBe('hi');
    expect(run('"a,b,c".split(",")')).toEqual(['a', 'b', 'c']);
    expect(run('"a,b,c".split(",", 2)')).toEqual(['a', 'b,c']);
    expect(run('"MiXeD".lowerAscii()')).toBe('mixed');
    expect(run('"MiXeD".upperAscii()')).toBe('MIXED');
    expect(run('"hello".indexOf("l")')).toBe(2n);
    expect(run('"hello".lastIndexOf("l")')).toBe(3n);
    expect(run('"hello".indexOf("z")')).toBe(-1n);
    expect(run('"hello".substring(1)')).toBe('ello');
    expect(run('"hello".substring(1, 3)')).toBe('el');
    expect(run('"hello".startsWith("he") && "hello".endsWith("lo") && "hello".contains("ell")')).toBe(true);
    expect(run('"v1.2.3".matches("^v[0-9]+\\\\.[0-9]+")')).toBe(true);
    expect(run('["a", "b"].join("-")')).toBe('a-b');
    expect(run('["a", "b"].join()')).toBe('ab');
    expect(run('json.items.map(i, i.name).join(", ")', { json: { items: [{ name: 'x' }, { name: 'y' }] } })).toBe('x, y');
    expect(run('size("héllo") + "abc".size()')).toBe(8n);
    expect(run('"héllo".charAt(1)')).toBe('é');
    expect(run('"abc".reverse()')).toBe('cba');
  });

  it('reports evaluation errors of functions as ExprError', () => {
    expect(() => run('int(stdout)', { stdout: 'abc' })).toThrow(ExprError);
    expect(() => run('"abc".charAt(9)')).toThrow(/out of range/);
    expect(() => run('"x".matches("[")')).toThrow(ExprError);
  });
});

describe('numbers from plain JS input', () => {
  it('treats integral JSON numbers as int and others as double', () => {
    expect(bool('json.count > 5', { json: { count: 6 } })).toBe(true);
    expect(bool('json.count == 6', { json: { count: 6 } })).toBe(true);
    expect(bool('json.ratio < 0.5', { json: { ratio: 0.25 } })).toBe(true);
    expect(plain('json.count * 2', { json: { count: 21 } })).toBe(42);
  });

  it('compares int and double across types', () => {
    for (const used of [80, 80.5, 84.99]) {
      expect(bool('steps.disk.outputs.used_pct < 85', { steps: { disk: { outputs: { used_pct: used } } } })).toBe(true);
    }
    expect(bool('steps.disk.outputs.used_pct < 85', { steps: { disk: { outputs: { used_pct: 85.5 } } } })).toBe(false);
    expect(bool('vars.limit >= 85.5', { vars: { limit: 90 } })).toBe(true);
  });

  it('reads exit_code, attempt and vars given as numbers or bigints', () => {
    expect(bool('exit_code == 0 && attempt == 2', { exit_code: 0, attempt: 2 })).toBe(true);
    expect(bool('exit_code == 0 && attempt == 2', { exit_code: 0n, attempt: 2n })).toBe(true);
    expect(bool('vars.names.exists(n, n == "web")', { vars: { names: ['db', 'web'] } })).toBe(true);
    expect(bool('env.HOME == "/root"', { env: { HOME: '/root', UNSET: undefined } })).toBe(true);
    expect(bool('has(vars.x)', { vars: { x: undefined } })).toBe(false);
  });
});

describe('steps and runbook', () => {
  const steps = {
    disk: { status: 'passed', outputs: { used_pct: 42 }, stdout: 'ok\n', stderr: '', exit_code: 0 },
    skipped: { status: 'skipped', outputs: {}, stdout: '', stderr: '', exit_code: null },
  };

  it('reads step results', () => {
    expect(bool('steps.disk.status == "passed" && steps.disk.exit_code == 0', { steps })).toBe(true);
    expect(bool('steps["disk"].stdout.trim() == "ok"', { steps })).toBe(true);
    expect(bool('has(steps.skipped.exit_code)', { steps })).toBe(false);
    expect(plain('steps.disk', { steps })).toEqual(steps.disk);
  });

  it('type-checks step and runbook fields', () => {
    expect(compileError('steps.disk.stdot == ""').message).toBe('No such key: stdot');
    expect(compileError('runbook.nme').message).toBe('No such key: nme');
    expect(plain('runbook.name + "/" + runbook.run_id', { runbook: { name: 'rb', run_id: 'r1' } })).toBe('rb/r1');
  });

  it('reports a missing name at runtime clearly', () => {
    expect(() => run('steps.nope.status', { steps })).toThrow('no such key "nope"');
    expect(() => run('stdout == ""')).toThrow("stdout is not available here (it is set after the step's command ran)");
    expect(() => run('json.x')).toThrow(/json is not available here/);
  });
});

describe('compile errors', () => {
  it('reports an unknown identifier with its offset and a suggestion', () => {
    const err = compileError('exit_code == 0 && stdut.contains("x")');
    expect(err).toBeInstanceOf(ExprError);
    expect(err.message).toBe('unknown name "stdut"; did you mean "stdout"?');
    expect(err.offset).toBe(18);
    expect(err.code).toBe('unknown_variable');
    expect(err.message).not.toContain('\n');
  });

  it('does not suggest far-off names', () => {
    expect(compileError('x == 1').message).toMatch(/^unknown name "x"; expressions can read vars, env, steps/);
  });

  it('reports syntax errors with an offset', () => {
    const err = compileError('exit_code == ');
    expect(err.message).toMatch(/^syntax error: /);
    expect(err.offset).toBeGreaterThanOrEqual(10);
    expect(() => compile('1 +* 2')).toThrow(ExprError);
  });

  it('reports type errors', () => {
    expect(compileError('stdout + 1').message).toMatch(/no such overload: string \+ int/);
    expect(compileError('stdout.nosuch()').offset).toBe(0);
  });

  it('accepts comprehension variables and mixed literals', () => {
    expect(checkExpr('json.items.all(c, c.ok)')).toBeNull();
    expect(checkExpr('cel.bind(p, stdout.trim(), p != "")')).toBeNull();
    expect(plain('{"ok": true, "n": 3, "tags": ["a"]}')).toEqual({ ok: true, n: 3, tags: ['a'] });
  });

  it('exposes the checked type', () => {
    expect(compile('exit_code == 0').type).toBe('bool');
    expect(compile('stdout.split("\\n")').type).toBe('list<string>');
    expect(compile('json.x').type).toBe('dyn');
  });
});

describe('evaluateBool', () => {
  it('returns bools', () => {
    expect(bool('1 < 2')).toBe(true);
  });

  it('rejects other results with a clear message', () => {
    expect(() => bool('40 + 2')).toThrow(ExprError);
    expect(() => bool('40 + 2')).toThrow('expected a bool, got int (42)');
    expect(() => bool('stdout', { stdout: 'yes' })).toThrow('expected a bool, got string ("yes")');
    expect(() => bool('json.x', { json: { x: null } })).toThrow('expected a bool, got null ()');
    expect(() => bool('[1, 2]')).toThrow('expected a bool, got list ([1,2])');
  });
});
