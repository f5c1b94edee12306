/**
 * CEL expressions of runbooks (`when`, `expect`, `warn`, `outputs`, and the
 * `{{ }}` parts of templates): one shared, type-checking environment,
 * compilation, evaluation and static reference lookup.
 *
 * This module loads the CEL library; import it lazily where start-up time
 * matters. The environment itself is built on first use.
 */
import { Environment, EvaluationError, ParseError, TypeError as CelTypeError } from '@marcbachmann/cel-js';
import { ExprError } from './expr-error.js';
import { collectReferences, emptyReferences, type References } from './references.js';
import { distance } from '../runbook/did-you-mean.js';
import { registerStringFunctions } from './string-functions.js';
import {
  BASE_VARIABLES,
  COMMAND_VARIABLES,
  RUNBOOK_FIELDS,
  STEP_FIELDS,
  type ExprVariable,
} from './variables.js';
import { CelRunbook, CelStep, celDuration, celTypeName, toCel, toPlain, toText, type CelDuration } from './values.js';

export { ExprError } from './expr-error.js';
export type { References } from './references.js';
export { celDuration, formatDuration, toCel, toPlain, toText, type CelDuration } from './values.js';

/** What an expression sees as `steps.<id>`; absent (or null) fields read as missing: `has()` is false. */
export type StepContext = {
  outputs?: Record<string, unknown>;
  stdout?: string;
  stderr?: string;
  exit_code?: number | bigint | null;
  status?: string;
};

/**
 * Values for an evaluation, as plain JS (converted with {@link toCel};
 * already converted values pass unchanged). Leave out what does not exist
 * yet: reading it is then an evaluation error. A type alias rather than an
 * interface, so it stays assignable to `Record<string, unknown>`.
 */
export type ExprContext = {
  vars?: Record<string, unknown>;
  /** Undefined entries (as in `process.env`) are left out. */
  env?: Record<string, string | undefined>;
  steps?: Record<string, StepContext>;
  /** Defaults to the current time. */
  now?: Date;
  /** Fields other than name and run_id are ignored. */
  runbook?: { name: string; run_id?: string };
  exit_code?: number | bigint;
  stdout?: string;
  stderr?: string;
  json?: unknown;
  /** A CEL duration (see {@link celDuration}), or milliseconds. */
  duration?: CelDuration | number;
  attempt?: number | bigint;
};

/** A parsed and type-checked expression. */
export interface CompiledExpr {
  readonly source: string;
  /** Type inferred by the checker, e.g. `bool`, `string`, `dyn`, `list<string>`. */
  readonly type: string;
  /** Evaluate; the result is a CEL value (see {@link toPlain}, {@link toText}). Throws {@link ExprError}. */
  evaluate(ctx: ExprContext): unknown;
}

let sharedEnv: Environment | undefined;

// Built on first use, so importing this module does no more than load the library.
function celEnv(): Environment {
  if (sharedEnv) return sharedEnv;
  const env = new Environment({
    // Operators write `{"ok": true, "n": 3}` in outputs; CEL's strict
    // homogeneous literals would reject it.
    homogeneousAggregateLiterals: false,
    // `env.?NAME.orValue("x")` and `vars.?name`: reading something that may be absent without
    // an error (`has(env.NAME)` works as well).
    enableOptionalTypes: true,
  })
    .registerType('maint.Step', { ctor: CelStep, fields: { ...STEP_FIELDS } })
    .registerType('maint.Runbook', { ctor: CelRunbook, fields: { ...RUNBOOK_FIELDS } });
  // Declared variables (not unlistedVariablesAreDyn): a typo such as `stdut`
  // fails the type check. Functions live in their own namespace, so the
  // variable `duration` and the function `duration("5m")` coexist.
  for (const v of [...BASE_VARIABLES, ...COMMAND_VARIABLES]) {
    env.registerVariable(v.name, v.type, { description: v.description });
  }
  registerStringFunctions(env);
  sharedEnv = env;
  return env;
}

// Validation and execution compile the same sources; parsing once is enough.
const cache = new Map<string, CompiledExpr>();
const CACHE_LIMIT = 2000;

/**
 * Parse and type-check `source`.
 * @throws ExprError on a syntax error or a type-check error (unknown name,
 *   no such function, wrong operand types), with `offset` into `source`.
 */
export function compile(source: string): CompiledExpr {
  const hit = cache.get(source);
  if (hit) return hit;
  const env = celEnv();
  let parsed: ReturnType<Environment['parse']>;
  try {
    parsed = env.parse(source);
  } catch (err) {
    throw toExprError(err);
  }
  let checked: ReturnType<typeof parsed.check>;
  try {
    checked = parsed.check();
  } catch (err) {
    throw toExprError(err);
  }
  if (!checked.valid) throw toExprError(checked.error);
  const refs = emptyReferences();
  collectReferences(parsed.ast, refs);
  const roots = [...refs.roots];
  const compiled: CompiledExpr = {
    source,
    type: checked.type ?? 'dyn',
    evaluate(ctx: ExprContext): unknown {
      try {
        return parsed(celContext(ctx, roots));
      } catch (err) {
        const error = toExprError(err);
        // stdout `null` is valid JSON: reading a field of it says "no such key", which hides why.
        if (error.code === 'no_such_key' && ctx.json === null && roots.includes('json')) {
          throw new ExprError(`json is null (stdout was the JSON value null): ${error.message}`, { code: error.code, cause: err, ...(error.offset === undefined ? {} : { offset: error.offset }) });
        }
        throw error;
      }
    },
  };
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(source, compiled);
  return compiled;
}

/** The error {@link compile} would throw for `source`, or null when it compiles. */
export function checkExpr(source: string): ExprError | null {
  try {
    compile(source);
    return null;
  } catch (err) {
    if (err instanceof ExprError) return err;
    throw err;
  }
}

/**
 * Names `source` reads: free identifiers, `steps.X` / `steps["X"]` ids and
 * `vars.X` / `vars["X"]` names. Needs only valid syntax, not a valid type check.
 * @throws ExprError on a syntax error.
 */
export function references(source: string): References {
  let ast;
  try {
    ast = celEnv().parse(source).ast;
  } catch (err) {
    throw toExprError(err);
  }
  const refs = emptyReferences();
  collectReferences(ast, refs);
  return refs;
}

/**
 * Evaluate an expression that must yield a bool (`when`, `expect`, `warn`).
 * @throws ExprError when evaluation fails or the result is not a bool.
 */
export function evaluateBool(expr: CompiledExpr, ctx: ExprContext): boolean {
  const value = expr.evaluate(ctx);
  if (typeof value === 'boolean') return value;
  throw new ExprError(`expected a bool, got ${celTypeName(value)} (${preview(value)})`, { code: 'not_a_bool' });
}

/** Evaluate and convert the result to plain JSON-able JS with {@link toPlain} (for `outputs`). */
export function evaluatePlain(expr: CompiledExpr, ctx: ExprContext): unknown {
  return toPlain(expr.evaluate(ctx));
}

// Convert only the names the expression reads: `json` may be a large document.
function celContext(ctx: ExprContext, roots: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of roots) {
    switch (name) {
      case 'now':
        out.now = ctx.now ?? new Date();
        break;
      case 'steps':
        if (ctx.steps) out.steps = celSteps(ctx.steps);
        break;
      case 'runbook':
        if (ctx.runbook) out.runbook = celRunbook(ctx.runbook);
        break;
      case 'env':
        if (ctx.env) out.env = plainEnv(ctx.env);
        break;
      case 'duration':
        if (ctx.duration !== undefined) {
          out.duration = typeof ctx.duration === 'number' ? celDuration(ctx.duration) : ctx.duration;
        }
        break;
      default: {
        const value: unknown = (ctx as Record<string, unknown>)[name];
        if (value !== undefined) out[name] = toCel(value);
      }
    }
  }
  return out;
}

/**
 * `process.env` is an exotic object the CEL library refuses ("Unsupported type: object"): copy
 * its string entries into a plain map. Unset names are absent, so `env.NOPE` is a "no such key"
 * error and `has(env.NOPE)` is false.
 */
function plainEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') out[k] = v;
  return out;
}

function celRunbook(rb: { name: string; run_id?: string }): CelRunbook {
  const out = new CelRunbook();
  out.name = rb.name;
  if (rb.run_id !== undefined) out.run_id = rb.run_id;
  return out;
}

function celSteps(steps: Record<string, StepContext>): Record<string, CelStep> {
  const out: Record<string, CelStep> = Object.create(null);
  for (const [id, step] of Object.entries(steps)) {
    const cel = new CelStep();
    for (const [field, value] of Object.entries(step)) {
      if (value !== undefined && value !== null && Object.hasOwn(STEP_FIELDS, field)) {
        Object.assign(cel, { [field]: toCel(value) });
      }
    }
    out[id] = cel;
  }
  return out;
}

const KNOWN_NAMES: readonly ExprVariable[] = [...BASE_VARIABLES, ...COMMAND_VARIABLES];
const COMMAND_NAMES = new Set(COMMAND_VARIABLES.map((v) => v.name));

// The library's `message` spans several lines with a source excerpt; keep
// its one-line summary and the offset instead.
function toExprError(err: unknown): ExprError {
  if (err instanceof ExprError) return err;
  if (err instanceof ParseError || err instanceof CelTypeError || err instanceof EvaluationError) {
    const offset = err.range?.start;
    const opts = { code: err.code, cause: err, ...(offset === undefined ? {} : { offset }) };
    const unknown = /^Unknown variable: (.+)$/.exec(err.summary)?.[1];
    if (unknown !== undefined && err.code === 'unknown_variable') {
      return new ExprError(
        err instanceof EvaluationError ? unavailableMessage(unknown) : unknownNameMessage(unknown),
        opts,
      );
    }
    const prefix = err instanceof ParseError ? 'syntax error: ' : '';
    return new ExprError(prefix + (err instanceof EvaluationError ? readable(err.code, err.summary) : err.summary), opts);
  }
  // Anything else the library throws (a RangeError from a deep expression, a TypeError from a
  // value it did not expect) is still a problem with this expression, not a crash of maint.
  return new ExprError(err instanceof Error ? err.message : String(err), { cause: err });
}

/**
 * Evaluation errors reworded for someone who wrote a runbook rather than a CEL engine: the
 * missing key quoted with how to test for it, and `dyn<string>` shown as the `string` it holds.
 */
export function readable(code: string | undefined, summary: string): string {
  const text = summary.replace(/dyn<([^<>]+)>/g, '$1');
  const key = /^No such key: (.*)$/.exec(text)?.[1];
  if (key?.startsWith('index out of bounds')) return `index out of range (${key.replace(/^index out of bounds,\s*/, '')})`;
  if (code === 'no_such_key' && key !== undefined) {
    return `no such key "${key}" (test it with has(…) or read it with .?${/^\w+$/.test(key) ? key : 'key'}.orValue(…))`;
  }
  if (code === 'unsupported_type') return `${text}: a value the expression engine cannot read`;
  return text;
}

function unknownNameMessage(name: string): string {
  // Short names are close to everything: allow fewer edits for them.
  const maxEdits = name.length <= 4 ? 1 : 2;
  let near: string | undefined;
  let best = maxEdits + 1;
  for (const { name: known } of KNOWN_NAMES) {
    const d = distance(known, name);
    if (d < best) [near, best] = [known, d];
  }
  const names = KNOWN_NAMES.map((v) => v.name).join(', ');
  return near
    ? `unknown name "${name}"; did you mean "${near}"?`
    : `unknown name "${name}"; expressions can read ${names}`;
}

function unavailableMessage(name: string): string {
  if (name === 'json') return `json is not available here (it is set after a command whose stdout is valid JSON)`;
  if (COMMAND_NAMES.has(name)) return `${name} is not available here (it is set after the step's command ran)`;
  return `${name} is not available here`;
}

function preview(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : toText(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
