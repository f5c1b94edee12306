/**
 * The planner: a pure function from validated runbooks and inputs to a Plan. Vars resolved,
 * includes expanded as groups with their own vars, ids qualified, defaults applied. No I/O.
 *
 * Two phases: resolveScopes (scopes.ts) resolves and checks every scope's vars and `env:`, which
 * is where input can be wrong; then the plan is built from the resolved scopes, which evaluates
 * nothing and so cannot fail. Every problem of both comes back at once, as diagnostics.
 */
import { compile, references, type CompiledExpr } from '../expr/cel.js';
import { parseTemplate, type Template } from '../expr/template.js';
import { Masker } from '../exec/mask.js';
import type { Diagnostic } from '../runbook/diagnostics.js';
import { parseDuration } from '../runbook/duration.js';
import type { LoadedRunbook } from '../runbook/parse.js';
import type { RetryInput, StepInput } from '../runbook/schema.js';
import { asList, type StepSite } from '../runbook/walk.js';
import type { CommandSpec, Plan, PlanStep, RetrySpec, Scope, StepBase } from './types.js';
import { resolveScopes } from './scopes.js';
import { selectSteps } from './select.js';
import type { VarSources } from './vars.js';

export { flatten } from './select.js';

export interface PlanInput {
  root: LoadedRunbook;
  /** Included runbooks by name (from RunbookLibrary.loadTree). */
  runbooks: Map<string, LoadedRunbook>;
  sources: VarSources;
  /** Start at this step (earlier ones are left out). */
  from?: string;
  /** Run only this step. */
  only?: string;
}

export interface PlanResult {
  plan: Plan | null;
  diagnostics: Diagnostic[];
}

const DEFAULT_KILL_GRACE_MS = 5000;
const DEFAULT_RETRY_DELAY_MS = 1000;

export function buildPlan(input: PlanInput): PlanResult {
  const { root } = input;
  const scopes = resolveScopes(input);
  const diagnostics: Diagnostic[] = [...scopes.diagnostics];
  const requires = new Set<string>();
  const rootScope: Scope = scopes.root;

  const tpl = (src: string): Template => {
    const { template } = parseTemplate(src);
    if (!template) throw new Error(`unchecked template: ${src}`); // validation ran before planning
    return template;
  };
  const exprs = (v: string | string[] | undefined): CompiledExpr[] => asList(v).map((s) => compile(s));
  /** Does any of these expressions read this name? (decided once here, not per run) */
  const reads = (name: string, ...sources: (string | string[] | undefined)[]) =>
    sources.flatMap(asList).some((s) => references(s).roots.has(name));

  const planRunbook = (rb: LoadedRunbook, scope: Scope, depth: number, needs: Set<string>) => {
    const defaults = rb.input.defaults ?? {};
    const shell = defaults.shell ?? ['bash', '-c'];
    const killGraceMs = ms(defaults.kill_grace) ?? DEFAULT_KILL_GRACE_MS;
    const bySteps = new Map<StepInput, StepSite>(rb.sites.map((s) => [s.step, s]));
    for (const cmd of rb.input.requires ?? []) needs.add(cmd);
    // An included runbook's own `env` applies to its steps (the root's is the plan's env).
    const runbookEnv = depth > 0 ? (rb.input.env ?? {}) : {};

    const command = (cmd: string | string[]): CommandSpec =>
      typeof cmd === 'string' ? { kind: 'shell', template: tpl(cmd), shell } : { kind: 'argv', templates: cmd.map(tpl) };

    const planStep = (step: StepInput): PlanStep => {
      const site = bySteps.get(step)!;
      const base: StepBase = {
        id: site.id,
        qid: scope.prefix + site.id,
        name: tpl(step.name),
        when: step.when !== undefined ? compile(step.when) : undefined,
        confirm: step.confirm !== undefined ? tpl(step.confirm) : undefined,
        continueOnError: step.continue_on_error ?? false,
        readonly: step.readonly ?? false,
        disaster: step.disaster ?? false,
        scope,
      };
      if (step.run !== undefined) {
        const expect = exprs(step.expect);
        const rollback = step.rollback;
        const rbObj = typeof rollback === 'object' && !Array.isArray(rollback) ? rollback : undefined;
        return {
          ...base,
          kind: 'command',
          command: command(step.run),
          failOnExitCode: !reads('exit_code', step.expect),
          readsJson: reads('json', step.expect, step.warn, Object.values(step.outputs ?? {})),
          expect,
          warn: exprs(step.warn),
          outputs: Object.entries(step.outputs ?? {}).map(([k, v]) => [k, compile(v)] as [string, CompiledExpr]),
          retry: retrySpec(defaults.retry, step.retry),
          timeoutMs: ms(step.timeout) ?? ms(defaults.timeout),
          killGraceMs,
          env: Object.fromEntries(Object.entries({ ...runbookEnv, ...step.env }).map(([k, v]) => [k, tpl(String(v))])),
          cwd: step.cwd !== undefined ? tpl(step.cwd) : undefined,
          rollback:
            rollback === undefined
              ? undefined
              : rbObj?.manual !== undefined
                ? { kind: 'manual', text: tpl(rbObj.manual) }
                : rbObj
                ? {
                    kind: 'command',
                    command: command(rbObj.run!),
                    timeoutMs: ms(rbObj.timeout) ?? ms(defaults.timeout),
                    expect: exprs(rbObj.expect),
                    failOnExitCode: !reads('exit_code', rbObj.expect),
                    readsJson: reads('json', rbObj.expect),
                  }
                : { kind: 'command', command: command(rollback as string | string[]), timeoutMs: ms(defaults.timeout), expect: [], failOnExitCode: true, readsJson: false },
        };
      }
      if (step.manual !== undefined) return { ...base, kind: 'manual', text: tpl(step.manual) };
      if (step.parallel !== undefined) {
        return { ...base, kind: 'parallel', children: step.parallel.map(planStep), concurrency: step.concurrency ?? step.parallel.length };
      }
      return planInclude(step, base);
    };

    const planInclude = (step: StepInput, base: StepBase): PlanStep => {
      const name = step.runbook!;
      const included = input.runbooks.get(name);
      const inner = scopes.includes.get(base.qid);
      // Phase one reported a missing runbook or one nested too deep: an empty group stands in.
      if (!included || !inner) return { ...base, kind: 'include', runbook: name, inner: { prefix: `${base.qid}.`, runbook: name, vars: {} }, children: [], finally: [] };
      // An include that is off before the run starts (`when: vars.kubernetes`) needs none of its tools.
      const { steps, fin } = planRunbook(included, inner, depth + 1, scopes.off.has(base.qid) ? new Set() : needs);
      return { ...base, kind: 'include', runbook: name, inner, children: steps, finally: fin };
    };

    return { steps: rb.input.steps.map(planStep), fin: (rb.input.finally ?? []).map(planStep) };
  };

  const { steps, fin } = planRunbook(root, rootScope, 0, requires);
  diagnostics.push(...selectSteps(steps, input, root));
  if (diagnostics.length > 0) {
    // A message may quote a value (the default a var is typed like, a value passed to an include
    // that came from a secret): none reaches the terminal, the log or a webhook unmasked.
    const masker = new Masker([...new Set(scopes.secrets)]);
    return { plan: null, diagnostics: diagnostics.map((d) => ({ ...d, message: masker.mask(d.message) })) };
  }

  const objectives = root.input.objectives;
  return {
    diagnostics,
    plan: {
      runbook: { name: root.name, title: root.input.title ?? root.name, description: root.input.description, file: root.file },
      scope: rootScope,
      env: Object.fromEntries(Object.entries(root.input.env ?? {}).map(([k, v]) => [k, tpl(String(v))])),
      requires: [...requires],
      timezone: root.input.timezone ?? 'UTC',
      schedule: root.input.schedule,
      window: root.input.window,
      objectives: objectives ? { rtoMs: ms(objectives.rto), rpoMs: ms(objectives.rpo) } : undefined,
      steps,
      finally: fin,
      secrets: [...new Set(scopes.secrets)],
    },
  };
}

function ms(d: string | undefined): number | undefined {
  return d === undefined ? undefined : (parseDuration(d) ?? undefined);
}

function retrySpec(defaults: RetryInput | undefined, own: RetryInput | undefined): RetrySpec {
  const r = { ...defaults, ...own };
  return { attempts: r.attempts ?? 1, delayMs: ms(r.delay) ?? DEFAULT_RETRY_DELAY_MS, backoff: r.backoff ?? 1 };
}

