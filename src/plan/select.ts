/**
 * `--from` and `--only`: which steps of a built plan a run leaves out. A step is named by its
 * qualified id (`backup.snapshot`), its id, or its name as written in the runbook.
 */
import { meant } from '../runbook/did-you-mean.js';
import type { Diagnostic } from '../runbook/diagnostics.js';
import type { LoadedRunbook } from '../runbook/parse.js';
import type { PlanStep } from './types.js';

/** Every step with its descendants, depth first. */
export function flatten(steps: PlanStep[]): PlanStep[] {
  return steps.flatMap((s) => [s, ...(s.kind === 'parallel' || s.kind === 'include' ? flatten(s.children) : [])]);
}

/**
 * The step `ref` names: by qualified id; else by id in the root runbook; else by id anywhere
 * when only one step has it; else by name (exact, then ignoring case) when only one step has it.
 * `error` says why none was found, with the ids to use instead.
 */
export function findStep(all: PlanStep[], ref: string): { step: PlanStep } | { error: string } {
  const byQid = all.find((s) => s.qid === ref);
  if (byQid) return { step: byQid };
  const candidates: [string, (s: PlanStep) => boolean][] = [
    ['id', (s) => s.id === ref && s.scope.prefix === ''],
    ['id', (s) => s.id === ref],
    ['name', (s) => s.name.source === ref],
    ['name', (s) => s.name.source.toLowerCase() === ref.toLowerCase()],
  ];
  for (const [what, test] of candidates) {
    const hits = all.filter(test);
    if (hits.length === 1) return { step: hits[0]! };
    if (hits.length > 1) return { error: `${hits.length} steps have this ${what}; name one by its id: ${hits.map((s) => s.qid).join(', ')}` };
  }
  const ids = all.map((s) => s.qid);
  const hint = meant(ref, ids);
  const list = ids.length > 12 ? `${ids.slice(0, 12).join(', ')}, …` : ids.join(', ');
  return { error: `no such step${hint}${hint ? '' : ` (step ids: ${list})`}` };
}

/** Mark what --from / --only leave out. A nested --only keeps its ancestors as the way in. */
export function selectSteps(steps: PlanStep[], input: { from?: string; only?: string }, root: LoadedRunbook): Diagnostic[] {
  const { from, only } = input;
  if (from === undefined && only === undefined) return [];
  const all = flatten(steps);
  const diagnostics: Diagnostic[] = [];
  const find = (flag: string, ref: string) => {
    const found = findStep(all, ref);
    if ('step' in found) return found.step;
    diagnostics.push({ file: root.file, line: 1, col: 1, path: '', message: `${flag} ${ref}: ${found.error}` });
    return undefined;
  };
  if (from !== undefined) {
    const start = find('--from', from);
    if (start) {
      const topIndex = steps.findIndex((s) => s === start || flatten([s]).includes(start));
      steps.slice(0, topIndex).forEach((s) => markSkip(s, `before --from ${from}`));
    }
  }
  if (only !== undefined) {
    const target = find('--only', only);
    if (target) {
      const keep = (s: PlanStep): boolean => {
        if (s === target) return true;
        if (s.kind !== 'parallel' && s.kind !== 'include') return false;
        const inside = s.children.map(keep);
        s.children.forEach((c, i) => {
          if (!inside[i]) markSkip(c, `not --only ${only}`);
        });
        return inside.some(Boolean);
      };
      for (const s of steps) if (!keep(s)) markSkip(s, `not --only ${only}`);
    }
  }
  return diagnostics;
}

function markSkip(step: PlanStep, reason: string) {
  step.skip ??= reason;
}
