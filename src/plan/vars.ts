/**
 * Var resolution. Precedence, strongest first: `--var k=v`, `--vars-file`, the var's `env:`
 * variable, config `vars`, the runbook's default. Pure: every source is passed in.
 *
 * Every problem is a diagnostic, never a throw, and each is reported once: a var that cannot be
 * resolved is "unresolved", and what is built from it (a default template, an include's var) is
 * skipped instead of failing again on the missing value.
 */
import { parseTemplate } from '../expr/template.js';
import { meant } from '../runbook/did-you-mean.js';
import type { Diagnostic } from '../runbook/diagnostics.js';
import type { LoadedRunbook } from '../runbook/parse.js';
import type { VarDeclInput } from '../runbook/schema.js';
import { evaluateAt } from './evaluate.js';

export interface VarSources {
  /** From `--var k=v` (strings) or an include's `vars:` (already rendered). */
  explicit: Record<string, unknown>;
  /** From `--vars-file`. */
  file: Record<string, unknown>;
  /** Where `file` came from, to name it in problems; `keyAt` finds a key's line in it. */
  fileOrigin?: { path: string; keyAt?: (key: string) => { line: number; col: number } | undefined };
  /** The process environment. */
  env: Record<string, string | undefined>;
  /** Config `vars`: defaults for every runbook that declares them. */
  config: Record<string, unknown>;
}

export interface ResolvedVars {
  vars: Record<string, unknown>;
  secrets: string[];
  diagnostics: Diagnostic[];
  /** Vars without a usable value; each has a diagnostic (here or, for an include, in its parent). */
  unresolved: Set<string>;
}

/** Where an include gets its vars: the include step, in the runbook that includes. */
export interface IncludeSite {
  parent: LoadedRunbook;
  /** Path of the include step in `parent`. */
  path: readonly PropertyKey[];
  /** The include step's qualified id. */
  qid: string;
}

export interface ResolveOptions {
  /** Report `--var` and `--vars-file` names the runbook does not declare (the root only). */
  checkUnknown?: boolean;
  /** Explicit values that could not be computed (reported elsewhere): taken as set but unknown. */
  unresolved?: ReadonlySet<string>;
  /** Set when resolving an included runbook's vars. */
  include?: IncludeSite;
}

interface VarDecl {
  default?: unknown;
  env?: string;
  secret?: boolean;
  required?: boolean;
}

function normalize(decl: VarDeclInput): VarDecl {
  if (decl !== null && typeof decl === 'object' && !Array.isArray(decl)) return decl as VarDecl;
  return { default: decl };
}

/**
 * A string from the command line or environment, typed like the var's default: a number, a
 * bool, a list (JSON, or comma-separated) or a map (JSON). `error` when it cannot be.
 */
export function coerce(value: unknown, like: unknown): { value: unknown; error?: string } {
  if (typeof value !== 'string') return { value };
  const text = value.trim();
  if (typeof like === 'number') {
    // Finite only: 1e999 is Infinity, which a plan shows as null and a command gets as "Infinity".
    return text !== '' && Number.isFinite(Number(text)) ? { value: Number(text) } : { value, error: `a number like the default (${like})` };
  }
  if (typeof like === 'boolean') {
    return /^(true|false)$/i.test(text) ? { value: text.toLowerCase() === 'true' } : { value, error: 'true or false' };
  }
  if (Array.isArray(like)) {
    if (text.startsWith('[')) {
      const parsed = parseJson(text);
      return Array.isArray(parsed) ? { value: parsed } : { value, error: 'a JSON list, or items separated by commas' };
    }
    return { value: text === '' ? [] : text.split(',').map((item) => item.trim()) };
  }
  if (like !== null && typeof like === 'object') {
    const parsed = parseJson(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? { value: parsed } : { value, error: 'a JSON object' };
  }
  return { value };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A NUL byte anywhere in a value (strings inside lists and maps too): no argv or env can carry one. */
export function hasNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\0');
  if (depth > 50 || value === null || typeof value !== 'object') return false;
  return Object.values(value).some((v) => hasNul(v, depth + 1));
}

export function resolveVars(rb: LoadedRunbook, sources: VarSources, opts: ResolveOptions = {}): ResolvedVars {
  const decls = rb.input.vars ?? {};
  const vars: Record<string, unknown> = {};
  const secrets: string[] = [];
  const diagnostics: Diagnostic[] = [];
  const unresolved = new Set<string>();
  const { include } = opts;

  if (opts.checkUnknown) {
    for (const name of Object.keys(sources.explicit)) {
      if (Object.hasOwn(decls, name)) continue;
      diagnostics.push({
        file: rb.file, line: 1, col: 1, path: 'vars',
        message: `--var ${name}: runbook "${rb.name}" declares no var "${name}"${meant(name, Object.keys(decls))}`,
      });
    }
    const origin = sources.fileOrigin;
    for (const name of Object.keys(sources.file)) {
      if (Object.hasOwn(decls, name)) continue;
      const at = origin?.keyAt?.(name) ?? { line: 1, col: 1 };
      diagnostics.push({
        file: origin?.path ?? '--vars-file', ...at, path: name,
        message: `runbook "${rb.name}" declares no var "${name}"${meant(name, Object.keys(decls))}`,
      });
    }
  }

  /** Where a problem with var `name` from `from` is shown: an include's value at the include step. */
  const problem = (name: string, from: string, message: string): Diagnostic =>
    include && from === 'include'
      ? include.parent.source.at([...include.path, 'vars', name], `runbook "${rb.name}": var "${name}" ${message}`, { key: true })
      : rb.source.at(['vars', name], `${from}: var "${name}" ${message}`, { key: true });

  for (const [name, raw] of Object.entries(decls)) {
    const decl = normalize(raw);
    const fromEnv = decl.env !== undefined ? sources.env[decl.env] : undefined;
    // Every value a secret var could take is masked, also one that is refused or not chosen: a
    // diagnostic may quote it (a default shown as the example of its type, a value passed on).
    if (decl.secret) {
      const given = [sources.explicit, sources.file].filter((from) => Object.hasOwn(from, name)).map((from) => from[name]);
      for (const v of [decl.default, fromEnv, ...given]) secrets.push(...secretTexts(v));
    }
    let value: unknown;
    let bad = false;
    const typed = (v: unknown, from: string): unknown => {
      if (hasNul(v)) {
        diagnostics.push(problem(name, from, 'contains a NUL byte, which no command or environment can carry'));
        bad = true;
        return v;
      }
      const { value: out, error } = coerce(v, decl.default);
      if (error) {
        diagnostics.push(problem(name, from, `must be ${error}${decl.secret ? '' : `, not ${JSON.stringify(v)}`}`));
        bad = true;
      }
      return out;
    };
    if (Object.hasOwn(sources.explicit, name)) {
      if (opts.unresolved?.has(name)) bad = true;
      else value = typed(sources.explicit[name], include ? 'include' : `--var ${name}`);
    } else if (Object.hasOwn(sources.file, name)) value = typed(sources.file[name], `--vars-file ${sources.fileOrigin?.path ?? ''}`.trim());
    else if (fromEnv !== undefined && fromEnv !== '') value = typed(fromEnv, `$${decl.env}`);
    else if (Object.hasOwn(sources.config, name)) value = typed(sources.config[name], 'config vars');
    else if (typeof decl.default === 'string' && parseTemplate(decl.default).template?.segments.some((s) => s.kind === 'expr')) {
      // A default may be built from earlier vars: `{{ vars.namespace }}-db`.
      // Fixed before the run starts: `runbook.run_id` does not exist yet (an error, not '').
      const ctx = { vars, env: sources.env, runbook: { name: rb.name } };
      const result = evaluateAt(rb, ['vars', name, ...(raw === decl.default ? [] : ['default'])], decl.default, ctx, unresolved);
      if (result.ok) value = result.value;
      else {
        if (!result.skipped) diagnostics.push(result.diagnostic);
        bad = true;
      }
    } else value = decl.default;

    if (bad) {
      unresolved.add(name);
      continue;
    }
    if ((value === undefined || value === null || value === '') && decl.required) {
      diagnostics.push(missing(rb, name, decl, include));
      unresolved.add(name);
      continue;
    }
    vars[name] = value ?? null;
    if (decl.secret) secrets.push(...secretTexts(value));
  }
  return { vars, secrets, diagnostics, unresolved };
}

/**
 * The texts of a secret value to mask: a scalar as it prints; a list or map (from a vars file) as
 * JSON and each of its scalars, since either can be inserted into a command.
 */
export function secretTexts(value: unknown, depth = 0): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object') return String(value) === '' ? [] : [String(value)];
  if (depth > 20) return [];
  const inner = Object.values(value).flatMap((v) => secretTexts(v, depth + 1));
  return depth === 0 ? [JSON.stringify(value), ...inner] : inner;
}

/** A required var nobody set, with every way to set it. */
function missing(rb: LoadedRunbook, name: string, decl: VarDecl, include: IncludeSite | undefined): Diagnostic {
  const envVar = decl.env ? `the ${decl.env} environment variable` : null;
  if (include) {
    const how = [`vars: { ${name}: … } on this step`, envVar].filter(Boolean).join(' or ');
    return include.parent.source.at(include.path, `included runbook "${rb.name}" needs var "${name}" (set it with ${how})`);
  }
  const how = [`--var ${name}=…`, envVar].filter(Boolean).join(' or ');
  return rb.source.at(['vars', name], `required var "${name}" is not set (set it with ${how})`, { key: true });
}
