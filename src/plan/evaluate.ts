/**
 * The one place where planning evaluates an expression. Plan time has no step results yet, so
 * what is evaluated here reads only vars, env and the runbook's name: var defaults, an include's
 * `vars:`, runbook-level `env:`. Whatever goes wrong becomes a positioned diagnostic, never a throw.
 */
import { parseTemplate, renderValue, templateReferences } from '../expr/template.js';
import type { Diagnostic } from '../runbook/diagnostics.js';
import type { LoadedRunbook } from '../runbook/parse.js';

/** What a plan-time evaluation can read. */
export interface PlanTimeContext {
  vars: Record<string, unknown>;
  env: Record<string, string | undefined>;
  runbook: { name: string; run_id: string };
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
  const fail = (message: string): Evaluated => ({ ok: false, skipped: false, diagnostic: rb.source.at(path, message) });
  try {
    const { template, errors } = parseTemplate(text);
    if (!template) return fail(errors.map((e) => e.message).join('; '));
    const refs = templateReferences(template);
    const late = [...refs.roots].filter((r) => !PLAN_TIME_ROOTS.has(r));
    if (late.length > 0) return fail(`is resolved before the run starts: it may read vars and env, not ${late.join(', ')}`);
    if ([...refs.vars].some((name) => unresolved.has(name))) return { ok: false, skipped: true };
    return { ok: true, value: renderValue(template, ctx) };
  } catch (err) {
    return fail(messageOf(err, text));
  }
}

function messageOf(err: unknown, text: string): string {
  const message = err instanceof Error ? err.message : String(err);
  return `${JSON.stringify(text)}: ${message}`;
}
