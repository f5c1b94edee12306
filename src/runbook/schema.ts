/**
 * The runbook schema: the single source of truth. The TypeScript types below and the JSON
 * Schema editors use (`maint schema`, schema/runbook.schema.json) are both derived from it.
 * Checks that need more than one field (expressions, references, includes) live in validate.ts.
 */
import { z } from 'zod';
import { Cron } from 'croner';
import { parseDuration } from './duration.js';

const duration = z
  .string()
  .refine((s) => parseDuration(s) !== null, {
    message: 'not a duration: write it like 500ms, 30s, 5m, 4h or 7d',
  })
  .meta({ description: 'Duration: 500ms, 30s, 5m, 4h, 7d (or compounds such as 1h30m)' });

const cron = z
  .string()
  .refine(
    (s) => {
      try {
        new Cron(s, { paused: true });
        return s.trim().split(/\s+/).length === 5;
      } catch {
        return false;
      }
    },
    { message: 'not a 5-field cron expression (minute hour day-of-month month day-of-week; `#n` and `L` allowed)' },
  )
  .meta({ description: 'Cron, 5 fields; `#n` (nth weekday) and `L` (last) allowed' });

const timezone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not an IANA time zone (e.g. UTC, Europe/Helsinki)' },
);

/** An expression (CEL) or a list of them that must all hold. */
const expressions = z.union([z.string(), z.array(z.string())]).meta({
  description: 'CEL expression, or a list of expressions that must all be true',
});

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const templateValue = z.string().meta({ description: 'Text; `{{ expr }}` inserts a value' });

const command = z.union([
  z.string().min(1).meta({ description: 'Run through `bash -c` (or defaults.shell); each `{{ }}` value is one quoted shell word' }),
  z.array(z.string()).min(1).meta({ description: 'Run this program directly (argv), no shell' }),
]);

const retry = z.strictObject({
  attempts: z.number().int().min(1).max(100).optional().meta({ description: 'Total tries, first included' }),
  delay: duration.optional(),
  backoff: z.number().min(1).max(10).optional().meta({ description: 'Multiply the delay by this after each try' }),
});

const rollback = z.union([
  command,
  z
    .strictObject({
      run: command.optional(),
      manual: templateValue
        .optional()
        .meta({ description: 'No command can undo this step: what a person should do, listed as a follow-up if the run fails after it' }),
      timeout: duration.optional(),
      expect: expressions.optional(),
    })
    .superRefine((r, ctx) => {
      if ((r.run === undefined) === (r.manual === undefined)) {
        ctx.addIssue({ code: 'custom', message: 'a rollback has exactly one of `run` and `manual`' });
      } else if (r.manual !== undefined && (r.timeout !== undefined || r.expect !== undefined)) {
        ctx.addIssue({ code: 'custom', message: '`timeout` and `expect` go with `run`, not with `manual`' });
      }
    }),
]);

export const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const STEP_ID = /^[a-z0-9][a-z0-9_-]*$/;

const varDecl = z.union([
  scalar,
  z.array(z.unknown()),
  z.strictObject({
    default: z.unknown().optional(),
    env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional().meta({ description: 'Read from this environment variable' }),
    secret: z.boolean().optional().meta({ description: 'Masked as *** everywhere it could be printed or written' }),
    required: z.boolean().optional(),
    description: z.string().optional(),
  }),
]);

const stepFields = {
  name: z.string().min(1),
  id: z.string().regex(STEP_ID, 'ids are lowercase letters, digits, `_` and `-`, starting with a letter or digit').optional(),
  run: command.optional(),
  manual: templateValue.optional(),
  runbook: z.string().min(1).optional(),
  vars: z.record(z.string(), z.unknown()).optional().meta({ description: 'Vars for an included runbook' }),
  concurrency: z.number().int().min(1).optional(),
  when: z.string().optional(),
  expect: expressions.optional(),
  warn: expressions.optional(),
  outputs: z.record(z.string().regex(VAR_NAME, 'output names are identifiers'), z.string()).optional(),
  retry: retry.optional(),
  timeout: duration.optional(),
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  cwd: z.string().optional(),
  confirm: templateValue.optional(),
  continue_on_error: z.boolean().optional(),
  disaster: z.boolean().optional(),
  readonly: z.boolean().optional(),
  rollback: rollback.optional(),
};

/** The four actions of a step; each step has exactly one. */
export const STEP_ACTIONS = ['run', 'manual', 'parallel', 'runbook'] as const;

export interface StepInput {
  name: string;
  id?: string;
  run?: string | string[];
  manual?: string;
  parallel?: StepInput[];
  runbook?: string;
  vars?: Record<string, unknown>;
  concurrency?: number;
  when?: string;
  expect?: string | string[];
  warn?: string | string[];
  outputs?: Record<string, string>;
  retry?: { attempts?: number; delay?: string; backoff?: number };
  timeout?: string;
  env?: Record<string, string | number | boolean>;
  cwd?: string;
  confirm?: string;
  continue_on_error?: boolean;
  disaster?: boolean;
  readonly?: boolean;
  rollback?: string | string[] | { run?: string | string[]; manual?: string; timeout?: string; expect?: string | string[] };
}

export const StepSchema: z.ZodType<StepInput> = z
  .strictObject({
    ...stepFields,
    get parallel() {
      return z.array(StepSchema).min(1).optional();
    },
  })
  .superRefine((step, ctx) => {
    const actions = STEP_ACTIONS.filter((a) => step[a] !== undefined);
    if (actions.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          actions.length === 0
            ? 'a step needs exactly one action: run, manual, parallel or runbook'
            : `a step has exactly one action, this one has ${actions.join(' and ')}`,
      });
    }
    if (step.vars !== undefined && step.runbook === undefined) {
      ctx.addIssue({ code: 'custom', path: ['vars'], message: '`vars` on a step only goes with `runbook:`' });
    }
    if (step.concurrency !== undefined && step.parallel === undefined) {
      ctx.addIssue({ code: 'custom', path: ['concurrency'], message: '`concurrency` only goes with `parallel:`' });
    }
  })
  .meta({ id: 'Step', description: 'A step: a name and exactly one of run, manual, parallel, runbook' });

export const RunbookSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/).optional().meta({ description: "Defaults to the file's base name" }),
    title: z.string().optional().meta({ description: 'Heading in the maintenance log' }),
    description: z.string().optional(),
    schedule: cron.optional(),
    timezone: timezone.optional().meta({ description: 'IANA zone for schedule and window; default UTC' }),
    window: z.strictObject({ cron, duration }).optional().meta({ description: 'Refuse to start outside it unless --force' }),
    requires: z.array(z.string().min(1)).optional().meta({ description: 'Commands that must be on PATH, checked before step 1' }),
    vars: z.record(z.string().regex(VAR_NAME, 'var names are identifiers (letters, digits, _)'), varDecl).optional(),
    env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    defaults: z
      .strictObject({
        timeout: duration.optional(),
        retry: retry.optional(),
        shell: z.array(z.string()).min(1).optional().meta({ description: 'Shell for string `run`, e.g. [bash, -c]' }),
        kill_grace: duration.optional().meta({ description: 'After a timeout: TERM, then KILL after this grace (default 5s)' }),
      })
      .optional(),
    objectives: z.strictObject({ rto: duration.optional(), rpo: duration.optional() }).optional(),
    steps: z.array(StepSchema).min(1),
    finally: z.array(StepSchema).optional(),
  })
  .meta({ id: 'Runbook', title: 'maint runbook', description: 'A maintenance runbook for maint (format version 1)' });

export type RunbookInput = z.infer<typeof RunbookSchema>;
export type VarDeclInput = z.infer<typeof varDecl>;
export type RetryInput = z.infer<typeof retry>;
