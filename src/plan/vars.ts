/**
 * Var resolution. Precedence, strongest first: `--var k=v`, `--vars-file`, the var's `env:`
 * variable, config `vars`, the runbook's default. Pure: every source is passed in.
 */
import { parseTemplate, renderValue } from '../expr/template.js';
import { meant } from '../runbook/did-you-mean.js';
import type { Diagnostic } from '../runbook/diagnostics.js';
import type { LoadedRunbook } from '../runbook/parse.js';
import type { VarDeclInput } from '../runbook/schema.js';

export interface VarSources {
  /** From `--var k=v` (strings) or an include's `vars:` (already rendered). */
  explicit: Record<string, unknown>;
  /** From `--vars-file`. */
  file: Record<string, unknown>;
  /** The process environment. */
  env: Record<string, string | undefined>;
  /** Config `vars`: defaults for every runbook that declares them. */
  config: Record<string, unknown>;
}

export interface ResolvedVars {
  vars: Record<string, unknown>;
  secrets: string[];
  diagnostics: Diagnostic[];
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
function coerce(value: unknown, like: unknown): { value: unknown; error?: string } {
  if (typeof value !== 'string') return { value };
  const text = value.trim();
  if (typeof like === 'number') {
    return text !== '' && !Number.isNaN(Number(text)) ? { value: Number(text) } : { value, error: `a number like the default (${like})` };
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

export function resolveVars(rb: LoadedRunbook, sources: VarSources, opts: { checkUnknown?: boolean } = {}): ResolvedVars {
  const decls = rb.input.vars ?? {};
  const vars: Record<string, unknown> = {};
  const secrets: string[] = [];
  const diagnostics: Diagnostic[] = [];

  if (opts.checkUnknown) {
    for (const name of Object.keys(sources.explicit)) {
      if (name in decls) continue;
      diagnostics.push({
        file: rb.file, line: 1, col: 1, path: 'vars',
        message: `--var ${name}: runbook "${rb.name}" declares no var "${name}"${meant(name, Object.keys(decls))}`,
      });
    }
  }

  for (const [name, raw] of Object.entries(decls)) {
    const decl = normalize(raw);
    const fromEnv = decl.env !== undefined ? sources.env[decl.env] : undefined;
    let value: unknown;
    const typed = (raw: unknown, from: string): unknown => {
      const { value: v, error } = coerce(raw, decl.default);
      if (error) diagnostics.push(rb.source.at(['vars', name], `${from}: var "${name}" must be ${error}${decl.secret ? '' : `, not ${JSON.stringify(raw)}`}`, { key: true }));
      return v;
    };
    if (name in sources.explicit) value = typed(sources.explicit[name], `--var ${name}`);
    else if (name in sources.file) value = sources.file[name];
    else if (fromEnv !== undefined && fromEnv !== '') value = typed(fromEnv, `$${decl.env}`);
    else if (name in sources.config) value = sources.config[name];
    else if (typeof decl.default === 'string') {
      // A default may be built from earlier vars: `{{ vars.namespace }}-db`.
      const { template } = parseTemplate(decl.default);
      value = template ? renderValue(template, { vars, env: sources.env, runbook: { name: rb.name, run_id: '' } }) : decl.default;
    } else value = decl.default;

    if ((value === undefined || value === null || value === '') && decl.required) {
      const how = [`--var ${name}=…`, decl.env ? `the ${decl.env} environment variable` : null].filter(Boolean).join(' or ');
      diagnostics.push(rb.source.at(['vars', name], `required var "${name}" is not set (set it with ${how})`, { key: true }));
      continue;
    }
    vars[name] = value ?? null;
    if (decl.secret && value !== undefined && value !== null && String(value) !== '') secrets.push(String(value));
  }
  return { vars, secrets, diagnostics };
}
