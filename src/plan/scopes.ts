/**
 * Planning, phase one: resolve and check the vars of every scope (the root runbook and every
 * include, recursively) and the runbook-level `env:` of each, before any step is planned. The
 * result is either every scope resolved, or every problem at once; building the plan from it
 * (plan.ts) then has nothing left that can fail.
 */
import { compile, evaluateBool, references, type CompiledExpr } from '../expr/cel.js';
import type { Diagnostic } from '../runbook/diagnostics.js';
import type { LoadedRunbook } from '../runbook/parse.js';
import { MAX_INCLUDE_DEPTH } from '../runbook/library.js';
import type { StepSite } from '../runbook/walk.js';
import { evaluateAt, type PlanTimeContext } from './evaluate.js';
import type { Scope } from './types.js';
import { resolveVars, type VarSources } from './vars.js';

export interface ScopeInput {
  root: LoadedRunbook;
  runbooks: Map<string, LoadedRunbook>;
  sources: VarSources;
}

export interface ResolvedScopes {
  root: Scope;
  /** The scope inside each include, by the include step's qualified id. */
  includes: Map<string, Scope>;
  /** Includes whose `when` is false before the run starts (their tools are not needed). */
  off: Set<string>;
  secrets: string[];
  /** Every problem found; the scopes are complete only when this is empty. */
  diagnostics: Diagnostic[];
}

export function resolveScopes(input: ScopeInput): ResolvedScopes {
  const { root, sources } = input;
  const diagnostics: Diagnostic[] = [];
  const secrets: string[] = [];
  const includes = new Map<string, Scope>();
  const off = new Set<string>();

  const rootVars = resolveVars(root, sources, { checkUnknown: true });
  diagnostics.push(...rootVars.diagnostics);
  secrets.push(...rootVars.secrets);
  const rootScope: Scope = { prefix: '', runbook: root.name, vars: rootVars.vars };

  const contextOf = (scope: Scope): PlanTimeContext => ({ vars: scope.vars, env: sources.env, runbook: { name: scope.runbook, run_id: '' } });

  /** Runbook-level `env:` is rendered when the run starts: a broken one must stop it here. */
  const checkEnv = (rb: LoadedRunbook, scope: Scope, unresolved: ReadonlySet<string>, report: Diagnostic[]) => {
    for (const [key, value] of Object.entries(rb.input.env ?? {})) {
      const result = evaluateAt(rb, ['env', key], String(value), contextOf(scope), unresolved);
      if (!result.ok && !result.skipped) report.push(result.diagnostic);
    }
  };

  const visit = (rb: LoadedRunbook, scope: Scope, unresolved: ReadonlySet<string>, depth: number, quiet: boolean) => {
    const report = quiet ? [] : diagnostics;
    for (const site of rb.sites) {
      if (site.step.runbook === undefined) continue;
      includeScope(rb, site, scope, unresolved, depth, quiet, report);
    }
  };

  const includeScope = (
    rb: LoadedRunbook,
    site: StepSite,
    scope: Scope,
    unresolved: ReadonlySet<string>,
    depth: number,
    quiet: boolean,
    report: Diagnostic[],
  ) => {
    const step = site.step;
    const name = step.runbook!;
    const qid = scope.prefix + site.id;
    const included = input.runbooks.get(name);
    if (!included) {
      report.push(rb.source.at([...site.path, 'runbook'], `no runbook "${name}" to include`));
      return;
    }
    if (depth >= MAX_INCLUDE_DEPTH) {
      report.push(rb.source.at([...site.path, 'runbook'], `includes nested more than ${MAX_INCLUDE_DEPTH} deep (does "${name}" include itself?)`));
      return;
    }
    // Include vars are fixed before the run starts: `runbook.run_id` does not exist yet.
    const ctx = { ...contextOf(scope), runbook: { name: scope.runbook } };
    // An include that is off before the run starts (`when: vars.kubernetes`) needs nothing: its
    // problems would stop a run that never uses it.
    const isOff = quiet || (step.when !== undefined && isStaticallyFalse(step.when, ctx, unresolved));
    if (isOff) off.add(qid);
    const sink = isOff ? [] : report;

    const explicit: Record<string, unknown> = {};
    const innerUnresolved = new Set<string>();
    for (const [key, value] of Object.entries(step.vars ?? {})) {
      if (typeof value !== 'string') {
        explicit[key] = value;
        continue;
      }
      const result = evaluateAt(rb, [...site.path, 'vars', key], value, ctx, unresolved);
      explicit[key] = result.ok ? result.value : undefined;
      if (!result.ok) {
        innerUnresolved.add(key);
        if (!result.skipped) sink.push(result.diagnostic);
      }
    }
    const resolved = resolveVars(
      included,
      { ...sources, explicit, file: {}, fileOrigin: undefined },
      { unresolved: innerUnresolved, include: { parent: rb, path: site.path, qid } },
    );
    sink.push(...resolved.diagnostics);
    secrets.push(...resolved.secrets);
    const inner: Scope = { prefix: `${qid}.`, runbook: name, vars: resolved.vars };
    includes.set(qid, inner);
    checkEnv(included, inner, resolved.unresolved, sink);
    visit(included, inner, resolved.unresolved, depth + 1, isOff);
  };

  checkEnv(root, rootScope, rootVars.unresolved, diagnostics);
  visit(root, rootScope, rootVars.unresolved, 0, false);
  return { root: rootScope, includes, off, secrets, diagnostics };
}

/**
 * A `when` that reads only vars and env, and is false with them. One that reads a var that could
 * not be resolved, or fails, is not known to be false.
 */
export function isStaticallyFalse(when: string | CompiledExpr, ctx: PlanTimeContext, unresolved: ReadonlySet<string> = new Set()): boolean {
  const source = typeof when === 'string' ? when : when.source;
  try {
    const refs = references(source);
    if ([...refs.roots].some((r) => r !== 'vars' && r !== 'env')) return false;
    if ([...refs.vars].some((v) => unresolved.has(v))) return false;
    const expr = typeof when === 'string' ? compile(when) : when;
    return !evaluateBool(expr, { ...ctx, steps: {}, now: new Date() });
  } catch {
    return false;
  }
}
