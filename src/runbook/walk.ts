import type { RunbookInput, StepInput } from './schema.js';
import { slugify } from './ids.js';

/** A step with where it stands: its document path and its id (explicit or slugged). */
export interface StepSite {
  step: StepInput;
  path: (string | number)[];
  id: string;
  /** `steps` or `finally`. */
  list: 'steps' | 'finally';
  /** Set for the children of a `parallel` group: the group's site. */
  group?: StepSite;
}

/** Every step of a runbook in execution order, parallel children after their group. */
export function walkSteps(rb: Pick<RunbookInput, 'steps' | 'finally'>): StepSite[] {
  const out: StepSite[] = [];
  const visit = (steps: StepInput[], base: (string | number)[], list: StepSite['list'], group?: StepSite) => {
    steps.forEach((step, i) => {
      const site: StepSite = { step, path: [...base, i], id: step.id ?? slugify(step.name), list, group };
      out.push(site);
      if (step.parallel) visit(step.parallel, [...site.path, 'parallel'], list, site);
    });
  };
  visit(rb.steps, ['steps'], 'steps');
  visit(rb.finally ?? [], ['finally'], 'finally');
  return out;
}

/** Expressions as a list, whichever form the runbook used. */
export function asList(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
