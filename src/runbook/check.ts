/**
 * Checks that need more than one field: ids, expressions, templates and what they refer to,
 * includes, and (with --strict) rollback coverage. Pure: included runbooks come from `resolve`.
 */
import { checkExpr, compile, references } from '../expr/cel.js';
import { parseTemplate, shellContextErrors, templateReferences } from '../expr/template.js';
import { meant } from './did-you-mean.js';
import { formatDuration, MAX_TIMER_MS, parseDuration } from './duration.js';
import type { Diagnostic } from './diagnostics.js';
import type { LoadedRunbook } from './parse.js';
import { asList, type StepSite } from './walk.js';

/** Names readable before a step's command runs. */
export const PRE_NAMES = ['vars', 'env', 'steps', 'now', 'runbook'] as const;
/** Names readable once the command has run (expect, warn, outputs). */
export const POST_NAMES = [...PRE_NAMES, 'exit_code', 'stdout', 'stderr', 'json', 'duration', 'attempt'] as const;

/** Names an include's `vars:` may read: they are resolved before the run starts. */
const INCLUDE_VAR_NAMES = ['vars', 'env', 'runbook'] as const;
/** The planner's retry delay when a runbook sets none. */
const DEFAULT_RETRY_DELAY_MS = 1000;
const DAY_MS = 86_400_000;

export interface CheckOptions {
  strict?: boolean;
  /** An included runbook by name: the loaded runbook, or null when there is none. */
  resolve: (name: string) => LoadedRunbook | null;
}

type Path = (string | number)[];
type Refs = { roots: Set<string>; steps: Set<string>; vars: Set<string> };
/** Which step ids an expression at some point may read. */
type Visible = { has(id: string): boolean };

export function checkRunbook(rb: LoadedRunbook, opts: CheckOptions): Diagnostic[] {
  const out: Diagnostic[] = [];
  const { source, input, sites } = rb;
  const declaredVars = new Set(Object.keys(input.vars ?? {}));
  // Where each step id occurs, in execution order: more than once is an error reported below.
  const indexesById = new Map<string, number[]>();
  sites.forEach((s, i) => indexesById.set(s.id, [...(indexesById.get(s.id) ?? []), i]));

  // Ids: unique in the whole runbook, parallel children and finally included.
  sites.forEach((site, index) => {
    const firstIndex = indexesById.get(site.id)![0]!;
    if (firstIndex !== index) {
      const where = source.locate(sites[firstIndex]!.path);
      out.push(
        source.at(
          site.step.id ? [...site.path, 'id'] : [...site.path, 'name'],
          `duplicate step id "${site.id}" (also at line ${where.line})${site.step.id ? '' : '; give one of them an `id:`'}`,
        ),
      );
    }
  });

  /** Report names an expression or template reads that it may not. */
  const checkRefs = (path: Path, refs: Refs, allowedNames: readonly string[], visibleSteps: Visible) => {
    for (const root of refs.roots) {
      if (allowedNames.includes(root)) continue;
      if ((PRE_NAMES as readonly string[]).includes(root)) {
        // Only a value resolved before the run starts leaves out a name every step can read.
        const names = allowedNames.map((n) => `\`${n}\``).join(', ');
        out.push(source.at(path, `\`${root}\` cannot be read here: this value is resolved before the run starts, from ${names}`));
      } else if ((POST_NAMES as readonly string[]).includes(root)) {
        out.push(source.at(path, `\`${root}\` is only known after the command runs (use it in expect, warn or outputs)`));
      } else {
        out.push(source.at(path, `unknown name \`${root}\`${meant(root, allowedNames, (h) => `\`${h}\``)}`));
      }
    }
    for (const v of refs.vars) {
      if (declaredVars.has(v)) continue;
      out.push(source.at(path, `\`vars.${v}\` is not declared under vars:${meant(v, declaredVars, (h) => `\`vars.${h}\``)}`));
    }
    for (const id of refs.steps) {
      if (visibleSteps.has(id) || !allowedNames.includes('steps')) continue;
      if (indexesById.has(id)) {
        out.push(source.at(path, `step "${id}" has not run at this point; a step can read only the steps before it`));
      } else {
        out.push(source.at(path, `no step with id "${id}"${meant(id, indexesById.keys())}`));
      }
    }
  };

  /** `bool`: the expression decides something (when, expect, warn), so a known other type is wrong. */
  const checkExpression = (path: Path, src: string, names: readonly string[], visible: Visible, opts: { bool?: boolean } = {}) => {
    const err = checkExpr(src);
    if (err) {
      out.push(source.at(path, `expression: ${err.message}`, err.offset === undefined ? {} : { offset: err.offset }));
      return;
    }
    const type = compile(src).type;
    if (opts.bool && type !== 'bool' && type !== 'dyn') {
      out.push(source.at(path, `expression: must be true or false, but it is of type ${type}`));
    }
    checkRefs(path, references(src), names, visible);
  };

  const checkTemplate = (path: Path, src: string, visible: Visible, opts: { shell?: boolean; names?: readonly string[] } = {}) => {
    const { template, errors } = parseTemplate(src);
    for (const e of errors) out.push(source.at(path, e.message, { offset: e.offset }));
    if (!template) return;
    if (opts.shell) for (const e of shellContextErrors(template)) out.push(source.at(path, e.message, { offset: e.offset }));
    checkRefs(path, templateReferences(template), opts.names ?? PRE_NAMES, visible);
  };

  const checkCommand = (path: Path, cmd: string | string[], visible: Visible) => {
    if (typeof cmd === 'string') checkTemplate(path, cmd, visible, { shell: true });
    else cmd.forEach((arg, i) => checkTemplate([...path, i], arg, visible));
  };

  // Runbook-level templates: var defaults may read earlier vars; env reads vars.
  const earlierVars = new Set<string>();
  for (const [name, decl] of Object.entries(input.vars ?? {})) {
    const value = decl !== null && typeof decl === 'object' && !Array.isArray(decl) ? decl.default : decl;
    if (typeof value === 'string') {
      const { template, errors } = parseTemplate(value);
      const path: Path = ['vars', name, ...(value === decl ? [] : ['default'])];
      for (const e of errors) out.push(source.at(path, e.message, { offset: e.offset }));
      if (template) {
        const refs = templateReferences(template);
        for (const v of refs.vars) {
          if (!earlierVars.has(v)) out.push(source.at(path, `\`vars.${v}\` is not declared before this var`));
        }
        checkRefs(path, { ...refs, vars: new Set() }, ['vars', 'env', 'runbook'], new Set());
      }
    }
    earlierVars.add(name);
  }
  for (const [key, value] of Object.entries(input.env ?? {})) {
    if (typeof value === 'string') checkTemplate(['env', key], value, new Set(), { names: ['vars', 'env', 'runbook', 'now'] });
  }
  checkProcessText(['env'], input.env);
  checkProcessText(['defaults', 'shell'], input.defaults?.shell);

  // Steps, in execution order: each sees the steps finished before it.
  const finished = new Set<string>();
  let disasters = 0;
  sites.forEach((site, index) => {
    const { step, path } = site;
    const visible = visibleSteps(sites, index, indexesById);
    const withSelf: Visible = { has: (id) => id === site.id || visible.has(id) };
    checkTemplate([...path, 'name'], step.name, visible);
    if (step.when !== undefined) checkExpression([...path, 'when'], step.when, PRE_NAMES, visible, { bool: true });
    if (step.run !== undefined) checkCommand([...path, 'run'], step.run, visible);
    if (step.manual !== undefined) checkTemplate([...path, 'manual'], step.manual, visible);
    if (step.confirm !== undefined) checkTemplate([...path, 'confirm'], step.confirm, visible);
    if (step.cwd !== undefined) checkTemplate([...path, 'cwd'], step.cwd, visible);
    for (const field of ['run', 'env', 'cwd', 'rollback'] as const) checkProcessText([...path, field], step[field]);
    for (const [key, value] of Object.entries(step.env ?? {})) {
      if (typeof value === 'string') checkTemplate([...path, 'env', key], value, visible);
    }
    for (const [name, src] of Object.entries(step.outputs ?? {})) {
      checkExpression([...path, 'outputs', name], src, POST_NAMES, visible);
    }
    for (const field of ['expect', 'warn'] as const) {
      const list = asList(step[field]);
      list.forEach((src, i) => {
        const p = Array.isArray(step[field]) ? [...path, field, i] : [...path, field];
        checkExpression(p, src, POST_NAMES, withSelf, { bool: true });
      });
    }
    if (step.rollback !== undefined) {
      const rb = step.rollback;
      const isObj = typeof rb === 'object' && !Array.isArray(rb);
      if (isObj && rb.manual !== undefined) checkTemplate([...path, 'rollback', 'manual'], rb.manual, withSelf);
      else checkCommand(isObj ? [...path, 'rollback', 'run'] : [...path, 'rollback'], isObj ? rb.run! : rb, withSelf);
      if (isObj) {
        asList(rb.expect).forEach((src, i) => {
          const p = Array.isArray(rb.expect) ? [...path, 'rollback', 'expect', i] : [...path, 'rollback', 'expect'];
          checkExpression(p, src, POST_NAMES, withSelf, { bool: true });
        });
      }
    }
    if (step.runbook !== undefined) checkInclude(site);
    if (step.run !== undefined) checkRetryWait(site);
    if (step.disaster) disasters++;
    if (opts.strict && site.list === 'steps' && step.run !== undefined && !step.readonly && step.rollback === undefined) {
      out.push(
        source.at([...path, 'name'], 'changes something but has no rollback (--strict): add `rollback:`, or `readonly: true` if it only reads'),
      );
    }
    finished.add(site.id);
  });
  if (disasters > 1) {
    const second = sites.filter((s) => s.step.disaster)[1]!;
    out.push(source.at([...second.path, 'disaster'], 'only one step may be marked `disaster: true`'));
  }

  /**
   * Text that becomes a command, an argument, a folder or an environment variable: no process can
   * be given a NUL byte (the step would fail at start with "cannot run"), nor a variable named
   * with `=` or nothing.
   */
  function checkProcessText(path: Path, value: unknown) {
    if (typeof value === 'string') {
      const at = value.indexOf('\0');
      if (at !== -1) out.push(source.at(path, 'contains a NUL byte (\\0): no command, argument or environment variable can hold one', { offset: at }));
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => checkProcessText([...path, i], v));
    } else if (value !== null && typeof value === 'object') {
      const isEnv = path[path.length - 1] === 'env';
      for (const [key, v] of Object.entries(value)) {
        if (isEnv && (key === '' || /[=\0]/.test(key))) {
          out.push(source.at([...path, key], 'an environment variable name cannot be empty or contain `=` or a NUL byte', { key: true }));
        }
        if (key !== 'timeout' && key !== 'expect' && key !== 'manual') checkProcessText([...path, key], v);
      }
    }
  }

  /** The longest wait between tries must fit a timer, or the last retries would start at once. */
  function checkRetryWait(site: StepSite) {
    const own = site.step.retry;
    const retry = { ...input.defaults?.retry, ...own };
    const attempts = retry.attempts ?? 1;
    if (attempts < 2) return;
    const delay = retry.delay === undefined ? DEFAULT_RETRY_DELAY_MS : parseDuration(retry.delay);
    if (delay === null) return; // reported by the schema
    const longest = delay * (retry.backoff ?? 1) ** (attempts - 2);
    if (longest > MAX_TIMER_MS) {
      const at = own !== undefined ? [...site.path, 'retry'] : ['defaults', 'retry'];
      out.push(
        source.at(at, `the wait before try ${attempts} grows to ${longest < 1000 * DAY_MS ? formatDuration(longest) : 'more than 1000 days'}; at most 24d (${MAX_TIMER_MS} ms): lower delay, backoff or attempts`),
      );
    }
  }

  function checkInclude(site: StepSite) {
    const name = site.step.runbook!;
    const included = opts.resolve(name);
    if (!included) return; // reported by the library, which knows where it looked
    const theirs = new Set(Object.keys(included.input.vars ?? {}));
    for (const [key, value] of Object.entries(site.step.vars ?? {})) {
      const path = [...site.path, 'vars', key];
      if (!theirs.has(key)) {
        out.push(source.at(path, `runbook "${name}" declares no var "${key}"${meant(key, theirs)}`, { key: true }));
      }
      // Rendered before the run starts, like var defaults: no step has run and there is no `now`.
      if (typeof value === 'string') checkTemplate(path, value, new Set(), { names: INCLUDE_VAR_NAMES });
    }
  }
  return out;
}

/**
 * Ids a step may read: the steps before it, without its own parallel group or that group's other
 * children (they run at the same time). A predicate, asked only for the ids an expression reads:
 * building the set for every step made checking long runbooks quadratic.
 */
function visibleSteps(sites: StepSite[], index: number, indexesById: Map<string, number[]>): Visible {
  const self = sites[index]!;
  const ancestors: StepSite[] = [];
  for (let g = self.group; g; g = g.group) ancestors.push(g);
  const visibleAt = (i: number): boolean => {
    const s = sites[i]!;
    return i < index && !ancestors.includes(s) && !(s.group && ancestors.some((a) => isWithin(s, a)));
  };
  return { has: (id) => (indexesById.get(id) ?? []).some(visibleAt) };
}

function isWithin(site: StepSite, group: StepSite): boolean {
  for (let g = site.group; g; g = g.group) if (g === group) return true;
  return false;
}
