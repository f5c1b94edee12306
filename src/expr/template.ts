/**
 * `{{ expr }}` templates: `run`, `env`, `manual`, `confirm`, `name` and
 * `vars` values. Write `\{{` for a literal `{{` (e.g. docker's
 * `--format '\{{.State.Status}}'`).
 */
import { ExprError, compile, references, toPlain, toText, type CompiledExpr, type ExprContext } from './cel.js';
import { emptyReferences, type References } from './references.js';
import { quoteShellWord } from './shell-quote.js';

export { shellContextErrors } from './shell-context.js';

/** A piece of a template: literal text, or an expression with its offset in the template source. */
export type Segment =
  | { kind: 'text'; text: string }
  | { kind: 'expr'; source: string; expr: CompiledExpr; offset: number };

/** A parsed template. A string without `{{` has only text (or no segments when empty). */
export interface Template {
  source: string;
  segments: Segment[];
}

/** A problem in a template, at a character offset into its source. */
export interface TemplateError {
  message: string;
  offset: number;
}

/**
 * Split `source` into text and compiled expressions. Reports every problem,
 * not only the first: an unclosed `{{`, an empty `{{ }}`, and expressions
 * that fail to compile (offset pointing into the expression).
 * `template` is null when there are errors.
 */
export function parseTemplate(source: string): ParsedTemplate {
  const hit = parsed.get(source);
  if (hit) return hit;
  const result = parse(source);
  if (parsed.size >= CACHE_LIMIT) parsed.clear();
  parsed.set(source, result);
  return result;
}

/** A parse, shared by every caller that parses the same text: read it, never change it. */
export type ParsedTemplate = Readonly<{ template: Template | null; errors: readonly TemplateError[] }>;

// Checking and planning parse the same texts (and a command often recurs across steps): once is
// enough, as for expressions (cel.ts).
const parsed = new Map<string, ParsedTemplate>();
const CACHE_LIMIT = 2000;

function parse(source: string): ParsedTemplate {
  const segments: Segment[] = [];
  const errors: TemplateError[] = [];
  let text = '';
  let pos = 0;
  while (pos < source.length) {
    const open = source.indexOf('{{', pos);
    if (open < 0) {
      text += source.slice(pos);
      break;
    }
    if (open > pos && source[open - 1] === '\\') {
      text += `${source.slice(pos, open - 1)}{{`;
      pos = open + 2;
      continue;
    }
    text += source.slice(pos, open);
    const close = findClose(source, open + 2);
    if (close < 0) {
      errors.push({ message: 'unclosed {{ (no matching }}); write \\{{ for a literal {{', offset: open });
      break;
    }
    const raw = source.slice(open + 2, close);
    const expr = raw.trim();
    const offset = open + 2 + (raw.length - raw.trimStart().length);
    pos = close + 2;
    if (expr === '') {
      errors.push({ message: 'empty {{ }}: put an expression inside, e.g. {{ vars.name }}', offset: open });
      continue;
    }
    try {
      const compiled = compile(expr);
      if (text) segments.push({ kind: 'text', text });
      text = '';
      segments.push({ kind: 'expr', source: expr, expr: compiled, offset });
    } catch (err) {
      if (!(err instanceof ExprError)) throw err;
      errors.push({ message: `{{ ${expr} }}: ${err.message}`, offset: offset + (err.offset ?? 0) });
    }
  }
  if (text) segments.push({ kind: 'text', text });
  return errors.length ? { template: null, errors } : { template: { source, segments }, errors };
}

/** Render as text: each value through {@link toText}, then `mapValue` (e.g. masking secrets). */
export function renderText(t: Template, ctx: ExprContext, mapValue?: (text: string) => string): string {
  return render(t, ctx, (v) => (mapValue ? mapValue(v) : v));
}

/**
 * Render to a typed value when the template is exactly one `{{ expr }}`
 * (nothing around it): the expression's value via {@link toPlain}, so
 * `vars: {limit: "{{ 80 + 5 }}"}` stays a number. Otherwise the rendered text.
 */
export function renderValue(t: Template, ctx: ExprContext): unknown {
  const [only] = t.segments;
  if (t.segments.length === 1 && only?.kind === 'expr') return toPlain(only.expr.evaluate(ctx));
  return renderText(t, ctx);
}

/**
 * Render a shell command: each value becomes exactly one shell word
 * ({@link quoteShellWord}), so no value can add a command, whatever it
 * holds. `mapValue` applies to the value's text before quoting. Pair with
 * {@link shellContextErrors}, which rejects places where a word cannot be
 * inserted safely (inside quotes, comments, heredocs, ...).
 */
export function renderShell(t: Template, ctx: ExprContext, mapValue?: (text: string) => string): string {
  return render(t, ctx, (v) => quoteShellWord(mapValue ? mapValue(v) : v));
}

/**
 * Render one argv element (commands run without a shell): values are
 * inserted as they are, since the element is one argument anyway.
 */
export function renderArgv(t: Template, ctx: ExprContext, mapValue?: (text: string) => string): string {
  return render(t, ctx, (v) => (mapValue ? mapValue(v) : v));
}

/** Union of the {@link references} of the template's expressions. */
export function templateReferences(t: Template): References {
  const out = emptyReferences();
  for (const seg of t.segments) {
    if (seg.kind !== 'expr') continue;
    const refs = references(seg.source);
    for (const key of ['roots', 'steps', 'vars'] as const) for (const name of refs[key]) out[key].add(name);
  }
  return out;
}

function render(t: Template, ctx: ExprContext, insert: (text: string) => string): string {
  let out = '';
  for (const seg of t.segments) out += seg.kind === 'text' ? seg.text : insert(toText(seg.expr.evaluate(ctx)));
  return out;
}

/**
 * Index of the `}}` closing an expression that starts at `from`, skipping
 * CEL string literals and nested map braces (`{{ {"a": {"b": 1}} }}`), or
 * -1. If that finds nothing (e.g. an unterminated string), the first `}}`
 * is taken, so the compiler reports the real problem.
 */
function findClose(s: string, from: number): number {
  let depth = 0;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (c === '"' || c === "'") {
      const end = skipString(s, i);
      if (end < 0) break;
      i = end - 1;
    } else if (c === '{') depth++;
    else if (c === '}') {
      if (depth === 0 && s[i + 1] === '}') return i;
      if (depth > 0) depth--;
    }
  }
  return s.indexOf('}}', from);
}

// End (exclusive) of the CEL string literal whose quote is at `i`, or -1.
function skipString(s: string, i: number): number {
  const q = s[i] as string;
  // r"…", rb"…" and br"…" are raw: a backslash is just a character there.
  const prefix = /[rRbB]{1,2}$/.exec(s.slice(Math.max(0, i - 2), i))?.[0] ?? '';
  const raw = /[rR]/.test(prefix);
  const closer = s.startsWith(q.repeat(3), i) ? q.repeat(3) : q;
  for (let j = i + closer.length; j < s.length; j++) {
    if (!raw && s[j] === '\\') j++;
    else if (s.startsWith(closer, j)) return j + closer.length;
  }
  return -1;
}
