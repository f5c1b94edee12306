import { describe, expect, it } from 'vitest';
import { compile, ExprError, type ExprContext } from '../../../src/expr/cel.js';
import { parseTemplate, renderValue } from '../../../src/expr/template.js';

/** The error an evaluation throws: always an ExprError, with a message a runbook author can act on. */
function failure(source: string, ctx: ExprContext): ExprError {
  try {
    compile(source).evaluate(ctx);
  } catch (err) {
    expect(err).toBeInstanceOf(ExprError);
    return err as ExprError;
  }
  throw new Error(`${source} did not fail`);
}

describe('evaluation errors are typed ExprErrors with readable messages', () => {
  it.each<[string, ExprContext, string, string]>([
    ['vars.a / vars.b', { vars: { a: 1, b: 0 } }, 'division_by_zero', 'division by zero'],
    ['vars.a % vars.b', { vars: { a: 1, b: 0 } }, 'modulo_by_zero', 'modulo by zero'],
    ['vars.x', { vars: {} }, 'no_such_key', 'no such key "x" (test it with has(…) or read it with .?x.orValue(…))'],
    ['env.NOPE', { env: {} }, 'no_such_key', 'no such key "NOPE" (test it with has(…) or read it with .?NOPE.orValue(…))'],
    ['vars.a + 1', { vars: { a: 'x' } }, 'no_such_overload', 'no such overload: string + int'],
    ['vars.a <= 3', { vars: { a: 'x' } }, 'no_such_overload', 'no such overload: string <= int'],
    ['json.a', { json: null }, 'no_such_key', 'json is null (stdout was the JSON value null): no such key "a" (test it with has(…) or read it with .?a.orValue(…))'],
    ['json.a', { json: { b: 1 } }, 'no_such_key', 'no such key "a" (test it with has(…) or read it with .?a.orValue(…))'],
    ['vars.l[5]', { vars: { l: [1] } }, 'index_out_of_bounds', 'index out of range (index 5 >= size 1)'],
  ])('%s', (source, ctx, code, message) => {
    const err = failure(source, ctx);
    expect([err.code, err.message]).toEqual([code, message]);
  });

  it('a json that is not there says when it is set', () => {
    expect(failure('json.a', {}).message).toMatch(/json is not available here/);
  });
});

describe('env', () => {
  it('reads process.env itself (an exotic object the engine refused on Node 20)', () => {
    expect(compile('env.PATH').evaluate({ env: process.env })).toBe(process.env.PATH);
    const { template } = parseTemplate('{{ env.PATH }}');
    expect(renderValue(template!, { env: process.env })).toBe(process.env.PATH);
  });

  it.each<[string, unknown]>([
    ['has(env.NOPE)', false],
    ['has(env.SET)', true],
    ['"NOPE" in env', false],
    ['env.?NOPE.orValue("fallback")', 'fallback'],
    ['env.?SET.orValue("fallback")', 'yes'],
  ])('%s is %j: an unset variable can be tested without an error', (source, value) => {
    expect(compile(source).evaluate({ env: { SET: 'yes', UNSET: undefined } })).toBe(value);
  });
});
