/**
 * What can still be checked in a runbook the schema refused: every field that is valid on its
 * own, kept where it stood. `validate` then reports the schema's problems and the semantic ones
 * (expressions, templates, references, includes) in one pass, instead of a schema problem hiding
 * the rest. A salvaged runbook is only ever checked, never planned or run.
 */
import * as z from 'zod/mini';
import { RunbookSchema, stepFields, VarDeclSchema, type RunbookInput, type StepInput } from './schema.js';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

const valid = (schema: z.ZodMiniType, value: unknown): boolean => schema.safeParse(value).success;

/** The valid parts of a document the schema refused, with the shape of a runbook. */
export function salvageRunbook(data: unknown): RunbookInput {
  const doc = isObject(data) ? data : {};
  const out: Record<string, unknown> = {};
  let unnamed = 0;

  const salvageStep = (raw: unknown): StepInput => {
    const fields = isObject(raw) ? raw : {};
    const step: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(stepFields)) {
      const value = fields[key];
      if (value === undefined) continue;
      // An id or name that names the step is kept even when wrong, so references to it are not reported twice.
      if (key === 'id' || key === 'name') {
        if (typeof value === 'string') step[key] = value;
      } else if (valid(schema as z.ZodMiniType, value)) step[key] = value;
    }
    if (Array.isArray(fields.parallel)) step.parallel = fields.parallel.map(salvageStep);
    if (typeof step.name !== 'string') step.name = '';
    // A step without a usable name or id gets one no reference can meet: no duplicate-id noise.
    if (step.id === '' || (typeof step.id !== 'string' && step.name === '')) step.id = `#${++unnamed}`;
    return step as unknown as StepInput;
  };

  for (const [key, schema] of Object.entries(RunbookSchema.shape)) {
    const value = doc[key];
    if (value === undefined) continue;
    if (key === 'steps' || key === 'finally') {
      out[key] = Array.isArray(value) ? value.map(salvageStep) : [];
    } else if (key === 'vars') {
      // Every declared name stays declared; a declaration the schema refused reads as no default.
      if (isObject(value)) {
        out.vars = Object.fromEntries(Object.entries(value).map(([name, decl]) => [name, valid(VarDeclSchema, decl) ? decl : null]));
      }
    } else if (key === 'defaults') {
      // Field by field: a bad `shell` must not hide `retry` from the checks that read it.
      if (isObject(value)) {
        const whole = RunbookSchema.shape.defaults;
        out.defaults = Object.fromEntries(Object.entries(value).filter(([k, v]) => valid(whole, { [k]: v })));
      }
    } else if (key === 'env') {
      if (isObject(value)) out.env = Object.fromEntries(Object.entries(value).filter(([, v]) => ['string', 'number', 'boolean'].includes(typeof v)));
    } else if (valid(schema as z.ZodMiniType, value)) {
      out[key] = value;
    }
  }
  if (!Array.isArray(out.steps)) out.steps = [];
  return out as unknown as RunbookInput;
}
