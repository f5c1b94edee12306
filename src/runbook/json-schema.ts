/** The JSON Schema editors use, generated from the zod schema, never written by hand. */
import * as z from 'zod/mini';
import { RunbookSchema } from './schema.js';

export function runbookJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(RunbookSchema, { target: 'draft-7', unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;
}
