/**
 * The runbook schema: the single source of truth. The TypeScript types below and the JSON
 * Schema editors use (`maint schema`, schema/runbook.schema.json) are both derived from it.
 * Checks that need more than one field (expressions, references, includes) live in validate.ts.
 */
import * as z from 'zod/mini';
import '../zod-setup.js'; // before any schema is built
import { Cron } from 'croner';
import { MAX_TIMER_MS, parseDuration } from './duration.js';

const duration = z
  .string()
  .check(z.refine((s) => parseDuration(s) !== null, { message: 'not a duration: write it like 500ms, 30s, 5m, 4h or 7d' }))
  .register(z.globalRegistry, { description: 'Duration: 500ms, 30s, 5m, 4h, 7d (or compounds such as 1h30m)' });

/**
 * A duration a timer waits for: within what a timer can hold and, for a timeout, more than
 * nothing (`timeout: 0s` would fail every step before it starts).
 */
const timerDuration = (what: string, min: 0 | 1) =>
  z
    .string()
    .check(
      z.superRefine((s, ctx) => {
        const ms = parseDuration(s);
        if (ms === null) ctx.addIssue({ code: 'custom', input: s, message: 'not a duration: write it like 500ms, 30s, 5m, 4h or 7d' });
        else if (ms < min) ctx.addIssue({ code: 'custom', input: s, message: `${what} must be longer than 0` });
        else if (ms > MAX_TIMER_MS) ctx.addIssue({ code: 'custom', input: s, message: `${what} is at most 24d (${MAX_TIMER_MS} ms, the longest timer)` });
      }),
    )
    .register(z.globalRegistry, { description: 'Duration: 500ms, 30s, 5m, 4h, 7d (or compounds such as 1h30m); at most 24d' });
const timeout = timerDuration('a timeout', 1);

const cron = z
  .string()
  .check(
    z.refine(
      (s) => {
        try {
          new Cron(s, { paused: true });
          return s.trim().split(/\s+/).length === 5;
        } catch {
          return false;
        }
      },
      { message: 'not a 5-field cron expression (minute hour day-of-month month day-of-week; `#n` and `L` allowed)' },
    ),
    // `0 0 31 2 *` parses but names a day that never comes: a window that never opens refuses
    // every run, a schedule that never fires runs nothing.
    z.refine(
      (s) => {
        try {
          return new Cron(s, { paused: true }).nextRun() !== null;
        } catch {
          return true; // reported by the check above
        }
      },
      { message: 'never fires: no date matches this cron expression (e.g. 31 February)' },
    ),
  )
  .register(z.globalRegistry, { description: 'Cron, 5 fields; `#n` (nth weekday) and `L` (last) allowed' });

const timezone = z.string().check(
  z.refine(
    (tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    },
    { message: 'not an IANA time zone (e.g. UTC, Europe/Helsinki)' },
  ),
);

/** An expression (CEL) or a list of them that must all hold. */
const expressions = z.union([z.string(), z.array(z.string())]).register(z.globalRegistry, {
  description: 'CEL expression, or a list of expressions that must all be true',
});

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const templateValue = z.string().register(z.globalRegistry, { description: 'Text; `{{ expr }}` inserts a value' });

/** An argv or a shell: its first word is the program to start, and no program has an empty name. */
const programFirst = z.refine((argv: unknown) => !Array.isArray(argv) || (typeof argv[0] === 'string' && argv[0].trim() !== ''), {
  message: 'the first word is the program to run: it cannot be empty',
});

const command = z.union([
  z
    .string()
    .check(z.minLength(1))
    .register(z.globalRegistry, { description: 'Run through `bash -c` (or defaults.shell); each `{{ }}` value is one quoted shell word' }),
  z.array(z.string()).check(z.minLength(1), programFirst).register(z.globalRegistry, { description: 'Run this program directly (argv), no shell' }),
]);

const retry = z.strictObject({
  attempts: z
    .optional(z.number().check(z.int('attempts is a whole number'), z.gte(1, 'attempts is at least 1'), z.lte(100, 'attempts is at most 100')))
    .register(z.globalRegistry, { description: 'Total tries, first included' }),
  delay: z.optional(timerDuration('a retry delay', 0)),
  backoff: z
    .optional(z.number().check(z.gte(1), z.lte(10)))
    .register(z.globalRegistry, { description: 'Multiply the delay by this after each try' }),
});

const rollback = z.union([
  command,
  z
    .strictObject({
      run: z.optional(command),
      manual: z.optional(templateValue).register(z.globalRegistry, {
        description: 'No command can undo this step: what a person should do, listed as a follow-up if the run fails after it',
      }),
      timeout: z.optional(timeout),
      expect: z.optional(expressions),
    })
    .check(
      z.superRefine((r, ctx) => {
        if ((r.run === undefined) === (r.manual === undefined)) {
          ctx.addIssue({ code: 'custom', message: 'a rollback has exactly one of `run` and `manual`' });
        } else if (r.manual !== undefined && (r.timeout !== undefined || r.expect !== undefined)) {
          ctx.addIssue({ code: 'custom', message: '`timeout` and `expect` go with `run`, not with `manual`' });
        }
      }),
    ),
]);

export const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const STEP_ID = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * Names every JavaScript object already has (`constructor`, `__proto__`, `toString`, …): as a var,
 * step or output name they are read as the object's own machinery, not the runbook's value (a var
 * `constructor` broke the expression engine; `__proto__` vanished from the plan).
 */
export function isBuiltinName(name: string): boolean {
  return name in Object.prototype;
}
const notBuiltin = (what: string) =>
  z.refine((s: unknown) => typeof s !== 'string' || !isBuiltinName(s), { message: `not allowed as ${what}: every object has this name already (constructor, __proto__, toString, …); choose another` });

/** One var's declaration. */
export const VarDeclSchema = z.union([
  scalar,
  z.array(z.unknown()),
  z.strictObject({
    default: z.optional(z.unknown()),
    env: z
      .optional(z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/)))
      .register(z.globalRegistry, { description: 'Read from this environment variable' }),
    secret: z.optional(z.boolean()).register(z.globalRegistry, { description: 'Masked as *** everywhere it could be printed or written' }),
    required: z.optional(z.boolean()),
    description: z.optional(z.string()),
  }),
]);

/** A step's fields but `parallel`, each on its own (salvage.ts checks them one by one). */
export const stepFields = {
  // Shown on terminals and written to the log, the journal and reports line by line.
  name: z.string().check(z.minLength(1), z.refine((s: unknown) => typeof s !== 'string' || !/[\0\r\n]/.test(s), { message: 'a step name is one line of text: no NUL byte or line break' })),
  id: z.optional(z.string().check(z.regex(STEP_ID, 'ids are lowercase letters, digits, `_` and `-`, starting with a letter or digit'), notBuiltin('a step id'))),
  run: z.optional(command),
  manual: z.optional(templateValue),
  runbook: z.optional(z.string().check(z.minLength(1))),
  vars: z.optional(z.record(z.string(), z.unknown())).register(z.globalRegistry, { description: 'Vars for an included runbook' }),
  concurrency: z.optional(z.number().check(z.int(), z.gte(1))),
  when: z.optional(z.string()),
  expect: z.optional(expressions),
  warn: z.optional(expressions),
  outputs: z.optional(z.record(z.string().check(z.regex(VAR_NAME, 'output names are identifiers'), notBuiltin('an output name')), z.string())),
  retry: z.optional(retry),
  timeout: z.optional(timeout),
  env: z.optional(z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))),
  cwd: z.optional(z.string()),
  confirm: z.optional(templateValue),
  continue_on_error: z.optional(z.boolean()),
  disaster: z.optional(z.boolean()),
  readonly: z.optional(z.boolean()),
  rollback: z.optional(rollback),
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

/**
 * `schema.check(check)` as classic zod does it: a clone whose def keeps the shape's getters.
 * zod/mini's .check() spreads the def, which would run the `parallel` getter (and read
 * StepSchema) before StepSchema exists.
 */
function checked<T extends z.ZodMiniObject>(schema: T, check: z.core.$ZodCheck<z.output<T>>): T {
  const def = Object.defineProperties({} as T['def'], {
    ...Object.getOwnPropertyDescriptors(schema.def),
    ...Object.getOwnPropertyDescriptors({ checks: [...(schema.def.checks ?? []), check] }),
  });
  return schema.clone(def, { parent: true });
}

const stepObject = z.strictObject({
  ...stepFields,
  get parallel() {
    return z.optional(z.array(StepSchema).check(z.minLength(1)));
  },
});

export const StepSchema: z.ZodMiniType<StepInput> = checked(
  stepObject,
  z.superRefine((step, ctx) => {
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
  }),
).register(z.globalRegistry, { id: 'Step', description: 'A step: a name and exactly one of run, manual, parallel, runbook' });

export const RunbookSchema = z
  .strictObject({
    name: z
      .optional(z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/)))
      .register(z.globalRegistry, { description: "Defaults to the file's base name" }),
    title: z.optional(z.string()).register(z.globalRegistry, { description: 'Heading in the maintenance log' }),
    description: z.optional(z.string()),
    schedule: z.optional(cron),
    timezone: z.optional(timezone).register(z.globalRegistry, { description: 'IANA zone for schedule and window; default UTC' }),
    window: z
      .optional(z.strictObject({ cron, duration }))
      .register(z.globalRegistry, { description: 'Refuse to start outside it unless --force' }),
    requires: z
      .optional(z.array(z.string().check(z.minLength(1))))
      .register(z.globalRegistry, { description: 'Commands that must be on PATH, checked before step 1' }),
    vars: z.optional(z.record(z.string().check(z.regex(VAR_NAME, 'var names are identifiers (letters, digits, _)'), notBuiltin('a var name')), VarDeclSchema)),
    env: z.optional(z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))),
    defaults: z.optional(
      z.strictObject({
        timeout: z.optional(timeout),
        retry: z.optional(retry),
        shell: z
          .optional(z.array(z.string()).check(z.minLength(1), programFirst))
          .register(z.globalRegistry, { description: 'Shell for string `run`, e.g. [bash, -c]' }),
        kill_grace: z
          .optional(timerDuration('kill_grace', 0))
          .register(z.globalRegistry, { description: 'After a timeout: TERM, then KILL after this grace (default 5s)' }),
      }),
    ),
    objectives: z.optional(z.strictObject({ rto: z.optional(duration), rpo: z.optional(duration) })),
    steps: z.array(StepSchema).check(z.minLength(1)),
    finally: z.optional(z.array(StepSchema)),
  })
  .register(z.globalRegistry, { id: 'Runbook', title: 'maint runbook', description: 'A maintenance runbook for maint (format version 1)' });

export type RunbookInput = z.infer<typeof RunbookSchema>;
export type VarDeclInput = z.infer<typeof VarDeclSchema>;
export type RetryInput = z.infer<typeof retry>;
