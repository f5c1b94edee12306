/**
 * From YAML text to a schema-valid runbook, with every problem as a positioned diagnostic.
 */
import { basename, extname } from 'node:path';
import type * as z from 'zod/mini';
import { meant } from './did-you-mean.js';
import type { Diagnostic } from './diagnostics.js';
import { MAX_RUNBOOK_BYTES, tooLarge } from './source-file.js';
import { salvageRunbook } from './salvage.js';
import { RunbookSchema, type RunbookInput } from './schema.js';
import { walkSteps, type StepSite } from './walk.js';
import { parseYamlSource, type YamlSource } from './yaml-source.js';

/** A runbook that passed the schema: its input, where it came from, and its steps in order. */
export interface LoadedRunbook {
  name: string;
  file: string;
  input: RunbookInput;
  source: YamlSource;
  sites: StepSite[];
}

export interface ParseResult {
  runbook: LoadedRunbook | null;
  diagnostics: Diagnostic[];
  /**
   * When the schema refused the runbook: its valid parts (salvage.ts), for checking only, so one
   * pass reports the semantic problems too. Never planned or run.
   */
  salvaged?: LoadedRunbook;
}

/** The name a runbook file is found by: its base name without `.yaml` / `.yml`. */
export function runbookNameOf(file: string): string {
  return basename(file, extname(file));
}

export function parseRunbook(file: string, text: string): ParseResult {
  if (text.length > MAX_RUNBOOK_BYTES) return { runbook: null, diagnostics: [{ file, line: 1, col: 1, path: '', message: tooLarge(text.length) }] };
  const source = parseYamlSource(file, text);
  if (source.errors.length > 0) return { runbook: null, diagnostics: source.errors };
  if (source.data === null || typeof source.data !== 'object' || Array.isArray(source.data)) {
    return { runbook: null, diagnostics: [source.at([], 'a runbook is a YAML mapping with at least `steps:`')] };
  }
  // reportInput: zod 4 leaves the value out of issues otherwise, and a wrong type would read as missing.
  const parsed = RunbookSchema.safeParse(source.data, { reportInput: true });
  if (!parsed.success) {
    return {
      runbook: null,
      diagnostics: parsed.error.issues.flatMap((issue) => issueDiagnostics(source, issue)),
      salvaged: loadedRunbook(file, salvageRunbook(source.data), source),
    };
  }
  const input = parsed.data;
  const fileName = runbookNameOf(file);
  const diagnostics: Diagnostic[] = [];
  if (input.name !== undefined && input.name !== fileName) {
    diagnostics.push(
      source.at(['name'], `name "${input.name}" differs from the file name "${fileName}"; maint finds runbooks by file name`),
    );
  }
  return { runbook: loadedRunbook(file, input, source), diagnostics };
}

/** A runbook from the schema's output, parsed now or kept by the parse cache. */
export function loadedRunbook(file: string, input: RunbookInput, source: YamlSource): LoadedRunbook {
  return { name: input.name ?? runbookNameOf(file), file, input, source, sites: walkSteps(input) };
}

const KEYS = {
  root: Object.keys(RunbookSchema.shape),
  step: [
    'name', 'id', 'run', 'manual', 'parallel', 'runbook', 'vars', 'concurrency', 'when', 'expect', 'warn', 'outputs',
    'retry', 'timeout', 'env', 'cwd', 'confirm', 'continue_on_error', 'disaster', 'readonly', 'rollback',
  ],
  retry: ['attempts', 'delay', 'backoff'],
  defaults: ['timeout', 'retry', 'shell', 'kill_grace'],
  window: ['cron', 'duration'],
  objectives: ['rto', 'rpo'],
  rollback: ['run', 'manual', 'timeout', 'expect'],
  var: ['default', 'env', 'secret', 'required', 'description'],
};

/** Which keys are allowed in the object at this path, for "did you mean". */
function keysAt(path: readonly PropertyKey[]): string[] {
  const last = path[path.length - 1];
  const parent = path[path.length - 2];
  if (path.length === 0) return KEYS.root;
  if (typeof last === 'number') return KEYS.step;
  if (last === 'retry') return KEYS.retry;
  if (last === 'defaults') return KEYS.defaults;
  if (last === 'window') return KEYS.window;
  if (last === 'objectives') return KEYS.objectives;
  if (last === 'rollback') return KEYS.rollback;
  if (parent === 'vars') return KEYS.var;
  return [];
}

const UNION_HINTS: Record<string, string> = {
  run: 'a command string, or a list of strings (argv)',
  rollback: 'a command string, an argv list, {run, timeout, expect} or {manual}',
  expect: 'an expression, or a list of expressions',
  warn: 'an expression, or a list of expressions',
};

function isYamlScalar(v: unknown): boolean {
  return v === null || typeof v === 'boolean' || typeof v === 'number';
}

function issueDiagnostics(source: YamlSource, issue: z.core.$ZodIssue): Diagnostic[] {
  const path = issue.path as PropertyKey[];
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      return source.at([...path, key], `unknown field "${key}"${meant(key, keysAt(path))}`, { key: true });
    });
  }
  const last = path[path.length - 1];
  const parentKey = path[path.length - 2];
  const expressionField = last === 'when' || last === 'expect' || last === 'warn' || parentKey === 'expect' || parentKey === 'warn' || parentKey === 'outputs';
  if ((issue.code === 'invalid_union' || issue.code === 'invalid_type') && expressionField && isYamlScalar(issue.input)) {
    // `expect: true` or `when: 1` is YAML's bool or number, not an expression: say how to write one.
    const wrote = JSON.stringify(issue.input);
    return [source.at(path, `expected an expression (a string), YAML read ${wrote} as a ${issue.input === null ? 'null' : typeof issue.input}; write it as a string, e.g. "${wrote === 'null' ? 'true' : wrote}"`)];
  }
  if (issue.code === 'invalid_union') {
    const parent = path[path.length - 2];
    const hint = typeof last === 'string' ? UNION_HINTS[last] : undefined;
    const what = hint ?? (parent === 'vars' ? 'a value, or {default, env, secret, required, description}' : null);
    return [source.at(path, what ? `expected ${what}` : issue.message)];
  }
  if (issue.code === 'invalid_key') {
    // A record key that fails its own check (a var or output name): say why, at the key.
    return [source.at(path, issue.issues[0]?.message ?? issue.message, { key: true })];
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return [source.at(path.slice(0, -1), `missing required field "${String(last)}"`)];
  }
  return [source.at(path, issue.message.replace(/^Invalid input: /, ''))];
}
