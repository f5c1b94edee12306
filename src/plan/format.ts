/**
 * `maint plan` / `--dry-run`: the exact commands a run would execute, vars resolved, secrets
 * as ***, with conditions, retries, timeouts and rollbacks. Values that only exist while
 * running (step outputs) stay as `{{ … }}`.
 */
import { references, toCel, toText } from '../expr/cel.js';
import { quoteShellWord } from '../expr/shell-quote.js';
import type { Template } from '../expr/template.js';
import { Masker } from '../exec/mask.js';
import { formatDuration } from '../runbook/duration.js';
import type { CommandSpec, Plan, PlanStep, Scope } from './types.js';

type Ctx = Record<string, unknown>;

/**
 * A template as the plan shows it. Each value is masked before it is quoted (a quoted secret that
 * contains `'` no longer looks like the secret), an evaluation error is masked too (CEL errors quote
 * the value: `Invalid duration string: <value>`), and so is the whole result, where a secret can be
 * formed by the runbook's text and a value side by side.
 */
export function preview(t: Template, ctx: Ctx, masker: Masker, quote: boolean): string {
  const shown = t.segments
    .map((seg) => {
      if (seg.kind === 'text') return seg.text;
      if (references(seg.source).roots.has('steps')) return `{{ ${seg.source.trim()} }}`;
      try {
        const text = masker.mask(toText(seg.expr.evaluate(ctx)));
        return quote ? quoteShellWord(text) : text;
      } catch (err) {
        return `{{ ${seg.source.trim()} }} (error: ${masker.mask((err as Error).message)})`;
      }
    })
    .join('');
  return masker.mask(shown);
}

export function commandText(spec: CommandSpec, ctx: Ctx, masker: Masker): string {
  if (spec.kind === 'shell') return preview(spec.template, ctx, masker, true);
  return spec.templates.map((t) => quoteShellWord(preview(t, ctx, masker, false))).join(' ');
}

/** What a preview can know before the run: vars, env, now; not step results. */
export function previewContext(scope: Scope, env: Record<string, string | undefined>): Ctx {
  return { vars: toCel(scope.vars), env, now: new Date(), runbook: { name: scope.runbook, run_id: '(plan)' } };
}

export function formatPlan(plan: Plan, env: Record<string, string | undefined>): string {
  const masker = new Masker(plan.secrets);
  const lines: string[] = [];
  const ctxOf = (scope: Scope) => previewContext(scope, env);
  const secretVars = (vars: Record<string, unknown>) =>
    Object.entries(vars).map(([k, v]) => `${k}=${masker.mask(typeof v === 'string' ? v : JSON.stringify(v))}`);

  lines.push(`Plan for ${plan.runbook.name}: ${plan.runbook.title}  (${plan.runbook.file})`);
  const vars = secretVars(plan.scope.vars);
  if (vars.length) lines.push(`vars: ${vars.join(', ')}`);
  if (plan.requires.length) lines.push(`requires: ${plan.requires.join(', ')}`);
  if (plan.objectives) {
    const o = plan.objectives;
    lines.push(`objectives: ${[o.rtoMs !== undefined ? `RTO ${formatDuration(o.rtoMs)}` : '', o.rpoMs !== undefined ? `RPO ${formatDuration(o.rpoMs)}` : ''].filter(Boolean).join(', ')}`);
  }
  lines.push('');

  const step = (s: PlanStep, label: string, indent: string) => {
    const ctx = ctxOf(s.scope);
    const flags = [s.readonly ? 'readonly' : '', s.continueOnError ? 'continue_on_error' : '', s.disaster ? 'disaster' : ''].filter(Boolean);
    lines.push(`${indent}${label} ${preview(s.name, ctx, masker, false)}  [${s.qid}]${flags.length ? ` (${flags.join(', ')})` : ''}`);
    const more = indent + ' '.repeat(label.length + 1);
    // Multi-line scripts and texts stay inside the step's column.
    const push = (text: string) => lines.push(more + text.trimEnd().replace(/\n/g, `\n${more}  `));
    if (s.skip) lines.push(`${more}skipped: ${s.skip}`);
    if (s.when) lines.push(`${more}when: ${s.when.source}`);
    if (s.confirm) lines.push(`${more}confirm: ${preview(s.confirm, ctx, masker, false)}`);
    switch (s.kind) {
      case 'command': {
        push(`$ ${commandText(s.command, ctx, masker)}`);
        for (const [k, t] of Object.entries(s.env)) lines.push(`${more}env ${k}=${preview(t, ctx, masker, false)}`);
        if (s.cwd) lines.push(`${more}cwd: ${preview(s.cwd, ctx, masker, false)}`);
        for (const e of s.expect) push(`expect: ${e.source}`);
        for (const e of s.warn) push(`warn: ${e.source}`);
        for (const [k, e] of s.outputs) push(`output ${k} = ${e.source}`);
        const limits = [
          s.timeoutMs !== undefined ? `timeout ${formatDuration(s.timeoutMs)}` : '',
          s.retry.attempts > 1 ? `retry ${s.retry.attempts} attempts, delay ${formatDuration(s.retry.delayMs)}${s.retry.backoff !== 1 ? ` ×${s.retry.backoff}` : ''}` : '',
        ].filter(Boolean);
        if (limits.length) lines.push(`${more}${limits.join('; ')}`);
        if (s.rollback?.kind === 'command') push(`rollback: $ ${commandText(s.rollback.command, ctx, masker)}`);
        if (s.rollback?.kind === 'manual') push(`rollback by hand: ${preview(s.rollback.text, ctx, masker, false)}`);
        return;
      }
      case 'manual':
        push(`manual: ${preview(s.text, ctx, masker, false)}`);
        return;
      case 'parallel':
        lines.push(`${more}parallel, concurrency ${s.concurrency}:`);
        s.children.forEach((c, i) => step(c, `${label}${i + 1}.`, more));
        return;
      case 'include': {
        const v = secretVars(s.inner.vars);
        lines.push(`${more}runbook ${s.runbook}${v.length ? ` with ${v.join(', ')}` : ''}:`);
        s.children.forEach((c, i) => step(c, `${label}${i + 1}.`, more));
        s.finally.forEach((c, i) => step(c, `${label}F${i + 1}.`, more));
        return;
      }
    }
  };
  plan.steps.forEach((s, i) => step(s, `${i + 1}.`, ''));
  if (plan.finally.length) {
    lines.push('', 'finally:');
    plan.finally.forEach((s, i) => step(s, `F${i + 1}.`, ''));
  }
  // Every value was masked on the way; this pass covers what was not a value (skip reasons, the
  // runbook's own text next to an environment secret such as a *_TOKEN).
  return masker.mask(lines.join('\n') + '\n');
}
