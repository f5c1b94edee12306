/**
 * The one place where planning evaluates an expression. Plan time has no step results yet, so
 * what is evaluated here reads only vars, env and the runbook's name: var defaults, an include's
 * `vars:`, runbook-level `env:`. Whatever goes wrong becomes a positioned diagnostic, never a throw.
 */
import { parseTemplate, renderValue, templateReferences, type Template } from '../expr/template.js';
import { ExprError } from '../expr/expr-error.js';
import type { Diagnostic } from '../runbook/diagnostics.js';
import type { LoadedRunbook } from '../runbook/parse.js';

/** What a plan-time evaluation can read. */
export interface PlanTimeContext {
  vars: Record<string, unknown>;
  env: Record<string, string | undefined>;
  /** No `run_id` where the value is fixed before the run has one (var defaults, include vars). */
  runbook: { name: string; run_id?: string };
}

/** Roots a plan-time template may read; anything else (`steps`, `stdout`, …) exists only while running. */
const PLAN_TIME_ROOTS = new Set(['vars', 'env', 'runbook', 'now']);

export type Evaluated =
  | { ok: true; value: unknown }
  /** A var it reads could not be resolved: that problem is reported already, so nothing is added. */
  | { ok: false; skipped: true }
  | { ok: false; skipped: false; diagnostic: Diagnostic };

/**
 * Render the template `text`, found at `path` in `rb`, as a value (see renderValue). An expression
 * error (ExprError, or anything the engine throws) becomes `file:line:col: path: message`.
 * `unresolved` names vars whose value is unknown because of a problem reported elsewhere: a
 * template reading one is skipped rather than reported again.
 */
export function evaluateAt(
  rb: LoadedRunbook,
  path: readonly PropertyKey[],
  text: string,
  ctx: PlanTimeContext,
  unresolved: ReadonlySet<string> = new Set(),
): Evaluated {
  const fail = (message: string, offset?: number): Evaluated => ({
    ok: false,
    skipped: false,
    diagnostic: rb.source.at(path, message, offset === undefined ? undefined : { offset }),
  });
  let template: Template | null = null;
  try {
    const parsed = parseTemplate(text);
    template = parsed.template;
    if (!template) return fail(parsed.errors.map((e) => e.message).join('; '), parsed.errors[0]?.offset);
    const refs = templateReferences(template);
    const late = [...refs.roots].filter((r) => !PLAN_TIME_ROOTS.has(r));
    if (late.length > 0) return fail(`is resolved before the run starts: it may read vars and env, not ${late.join(', ')}`);
    if ([...refs.vars].some((name) => unresolved.has(name))) return { ok: false, skipped: true };
    return { ok: true, value: renderValue(template, ctx) };
  } catch (err) {
    // Point at the `{{ }}` that failed, and name it rather than the whole text.
    const failed = template?.segments.find((seg) => seg.kind === 'expr' && throws(() => seg.expr.evaluate(ctx)));
    if (failed?.kind === 'expr') return fail(`{{ ${failed.source} }}: ${unsetEnv(err, failed.source, ctx) ?? noRunIdYet(err, ctx) ?? messageOf(err)}`, failed.offset);
    return fail(`${JSON.stringify(text)}: ${messageOf(err)}`);
  }
}

/**
 * `env.NAME` of a variable that is not set is the commonest plan-time failure: say so in those
 * words. (An unset variable is an error on purpose: a command must not run with an empty value;
 * `has(env.NAME)` and `env.?NAME.orValue("…")` are how a runbook says it may be unset.)
 */
function unsetEnv(err: unknown, source: string, ctx: PlanTimeContext): string | undefined {
  const key = err instanceof ExprError && err.code === 'no_such_key' ? /^no such key "([^"]+)"/.exec(err.message)?.[1] : undefined;
  if (key === undefined || ctx.env[key] !== undefined || !new RegExp(`\\benv\\s*\\.\\s*${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(source)) return undefined;
  return `the environment variable ${key} is not set (write env.?${key}.orValue("…") where it may be unset)`;
}

/** `runbook.run_id` read by a value fixed before the run starts (a var default, include vars). */
function noRunIdYet(err: unknown, ctx: PlanTimeContext): string | undefined {
  if (!(err instanceof ExprError) || err.code !== 'no_such_key' || !/^no such key "run_id"/.test(err.message) || ctx.runbook.run_id !== undefined) return undefined;
  return 'runbook.run_id is known only once the run starts: read it in a step, not in a value fixed before the run';
}

function throws(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch {
    return true;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
