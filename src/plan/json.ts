/** `maint plan --json`: the plan as data, with the same previews as the text form. */
import { Masker, maskDeep } from '../exec/mask.js';
import { commandText, preview, previewContext } from './format.js';
import type { Plan, PlanStep } from './types.js';

export function planToJson(plan: Plan, env: Record<string, string | undefined>) {
  const masker = new Masker(plan.secrets);
  const maskVars = (vars: Record<string, unknown>) => maskDeep(vars, masker);
  const step = (s: PlanStep): Record<string, unknown> => {
    const ctx = previewContext(s.scope, env);
    const base = {
      id: s.qid, kind: s.kind, name: preview(s.name, ctx, masker, false), skip: s.skip, when: s.when?.source,
      confirm: s.confirm && preview(s.confirm, ctx, masker, false), readonly: s.readonly, continue_on_error: s.continueOnError,
    };
    switch (s.kind) {
      case 'command':
        return {
          ...base,
          command: commandText(s.command, ctx, masker),
          expect: s.expect.map((e) => e.source),
          warn: s.warn.map((e) => e.source),
          outputs: Object.fromEntries(s.outputs.map(([k, e]) => [k, e.source])),
          timeout_ms: s.timeoutMs,
          retry: s.retry,
          rollback: s.rollback?.kind === 'command' ? commandText(s.rollback.command, ctx, masker) : undefined,
          manual_rollback: s.rollback?.kind === 'manual' ? preview(s.rollback.text, ctx, masker, false) : undefined,
        };
      case 'manual':
        return { ...base, manual: preview(s.text, ctx, masker, false) };
      case 'parallel':
        return { ...base, concurrency: s.concurrency, steps: s.children.map(step) };
      case 'include':
        return { ...base, runbook: s.runbook, vars: maskVars(s.inner.vars), steps: s.children.map(step), finally: s.finally.map(step) };
    }
  };
  // Previews and vars are masked as they are made; the whole document once more, because a
  // secret var that is a number or a list was shown as it is, and expression sources, skip
  // reasons and the runbook's own text are not values but can still hold an environment secret.
  return maskDeep({
    runbook: plan.runbook,
    vars: maskVars(plan.scope.vars),
    requires: plan.requires,
    steps: plan.steps.map(step),
    finally: plan.finally.map(step),
  }, masker) as Record<string, unknown>;
}
