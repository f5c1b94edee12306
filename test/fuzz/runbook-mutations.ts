/**
 * Mutated and generated runbooks for property tests: the shipped runbooks with lines deleted,
 * duplicated, swapped or truncated, YAML punctuation, aliases, tabs and odd keys and values put
 * in; and small runbooks built from the format's own fields.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';

export const SHIPPED_DIR = join(import.meta.dirname, '../../runbooks');

/** The shipped runbooks: file name and text. */
export const shipped: { file: string; text: string }[] = readdirSync(SHIPPED_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((file) => ({ file, text: readFileSync(join(SHIPPED_DIR, file), 'utf8') }));

const PUNCTUATION = [':', '- ', '[', ']', '{', '}', '&a ', '*a', '*b', '!', '!!str ', '|', '>', '#', '%', "'", '"', ',', '?', '@', '`', '\t', '\r', '\u0000', '\ufeff', '{{', '}}', '{{ }}', '<<: *a', '---', '...',
  // Characters that are not YAML punctuation but have tripped parsers: NEL, line and paragraph
  // separators, a lone surrogate, DEL, an escape sequence, a zero-width space.
  '\u0085', '\u2028', '\u2029', '\ud800', '\u007f', '\u001b[31m', '\u200b'];

const KEYS = [
  'name', 'id', 'run', 'manual', 'parallel', 'runbook', 'vars', 'concurrency', 'when', 'expect', 'warn', 'outputs', 'retry',
  'timeout', 'env', 'cwd', 'confirm', 'continue_on_error', 'disaster', 'readonly', 'rollback', 'attempts', 'delay', 'backoff',
  'kill_grace', 'shell', 'default', 'secret', 'required', 'steps', 'finally', 'defaults', 'objectives', 'rto', 'rpo', 'window',
  'schedule', 'timezone', 'requires', 'cron', 'duration', 'title', 'nope', '<<', '"quoted key"', '1',
];

const VALUES = [
  '0s', '0ms', '-1s', '25d', '99999999999999999999999d', '1.5s', 'soon', '0', '-1', '1e400', '101', '2147483648', 'true', 'false',
  'null', '~', '[]', '{}', '[a, b]', '{ run: "true" }', '*a', '&a x', '"{{ now }}"', '"{{ steps.nope.stdout }}"', '"{{ vars.nope }}"',
  '"{{ env.HOME }}"', '"{{ 1 / 0 }}"', '"{{"', '"}}"', 'exit_code', 'stdout', '"1 + 2"', '"exit_code == 0 &&"', 'steps.x.outputs.y',
  '"{{ json.x }}"', 'daily', 'weekly', '_disk-use', 'disk-use', 'nope', '"0 9 * * MON#1"', '"61 * * * *"', 'Mars/Base', '"x\\ny"',
  '|\n  block', "'single'", '""', '"{{ vars.namespace }}"', '"{{ runbook.name }}"', '"{{ steps.disk.outputs.used }}"',
];

export type Mutation =
  | { op: 'delete'; at: number }
  | { op: 'duplicate'; at: number }
  | { op: 'swap'; at: number; with: number }
  | { op: 'insert'; at: number; col: number; text: string }
  | { op: 'value'; at: number; text: string }
  | { op: 'key'; at: number; key: string; value: string; indent: number }
  | { op: 'truncate'; at: number };

/** One edit of a runbook's text. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), col: fc.nat(), text: fc.constantFrom(...PUNCTUATION) }),
  fc.record({ op: fc.constant('value' as const), at: fc.nat(), text: fc.constantFrom(...VALUES) }),
  fc.record({ op: fc.constant('key' as const), at: fc.nat(), key: fc.constantFrom(...KEYS), value: fc.constantFrom(...VALUES), indent: fc.nat(8) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

/** Applies mutations to a runbook's text, line by line. */
export function mutate(text: string, mutations: Mutation[]): string {
  let lines = text.split('\n');
  for (const m of mutations) {
    if (lines.length === 0) lines = [''];
    const i = m.at % lines.length;
    const line = lines[i]!;
    switch (m.op) {
      case 'delete':
        lines.splice(i, 1);
        break;
      case 'duplicate':
        lines.splice(i, 0, line);
        break;
      case 'swap': {
        const j = m.with % lines.length;
        [lines[i], lines[j]] = [lines[j]!, line];
        break;
      }
      case 'insert': {
        const col = m.col % (line.length + 1);
        lines[i] = line.slice(0, col) + m.text + line.slice(col);
        break;
      }
      case 'value': {
        const colon = line.indexOf(': ');
        lines[i] = colon === -1 ? `${line} ${m.text}` : `${line.slice(0, colon + 2)}${m.text}`;
        break;
      }
      case 'key': {
        const indent = line.match(/^ */)![0].length;
        lines.splice(i + 1, 0, `${' '.repeat(m.indent % 2 === 0 ? indent : m.indent)}${m.key}: ${m.value}`);
        break;
      }
      case 'truncate': {
        const all = lines.join('\n');
        lines = all.slice(0, m.at % (all.length + 1)).split('\n');
        break;
      }
    }
  }
  return lines.join('\n');
}

/** A shipped runbook and the text after 1–6 mutations. */
export const mutatedShipped = fc
  .record({ index: fc.nat(shipped.length - 1), mutations: fc.array(mutation, { minLength: 1, maxLength: 6 }) })
  .map(({ index, mutations }) => ({ file: shipped[index]!.file, text: mutate(shipped[index]!.text, mutations) }));

const expr = fc.constantFrom('exit_code == 0', 'true', 'stdout != ""', '1 + 2', 'vars.x', 'steps.a.exit_code == 0', 'json.ok', 'now', 'nope', '(');
const tpl = fc.constantFrom('plain', '{{ vars.x }}', '{{ steps.a.stdout }}', '{{ env.HOME }}', '{{ now }}', '{{ nope }}', '{{', 'a}}b', '{{ steps.z.outputs.q }}');
const duration = fc.constantFrom('1s', '0s', '25d', '5m', 'soon', '500ms');

const stepArb = fc.letrec<{ step: Record<string, unknown> }>((tie) => ({
  step: fc
    .record(
      {
        name: fc.oneof(tpl, fc.constantFrom('a', 'b', 'A', '')),
        id: fc.constantFrom('a', 'b', 'c', 'Bad Id'),
        run: fc.oneof(tpl, fc.array(tpl, { maxLength: 3 })),
        manual: tpl,
        runbook: fc.constantFrom('disk-use', '_disk-use', 'nope', 'daily'),
        parallel: fc.array(tie('step'), { maxLength: 2 }),
        when: expr,
        expect: fc.oneof(expr, fc.array(expr, { maxLength: 2 }), fc.constant(true)),
        warn: expr,
        outputs: fc.dictionary(fc.constantFrom('o', 'used', 'x-y'), expr, { maxKeys: 2 }),
        retry: fc.record({ attempts: fc.integer({ min: -1, max: 200 }), delay: duration, backoff: fc.double({ min: 0, max: 20, noNaN: true }) }, { requiredKeys: [] }),
        timeout: duration,
        env: fc.dictionary(fc.constantFrom('A', 'B'), tpl, { maxKeys: 2 }),
        cwd: tpl,
        confirm: tpl,
        vars: fc.dictionary(fc.constantFrom('path', 'x', 'nope'), tpl, { maxKeys: 2 }),
        rollback: fc.oneof(tpl, fc.record({ run: tpl, timeout: duration, expect: expr }, { requiredKeys: [] }), fc.record({ manual: tpl })),
        continue_on_error: fc.boolean(),
        concurrency: fc.integer({ min: 0, max: 4 }),
      },
      { requiredKeys: [] },
    )
    .map((s) => s as Record<string, unknown>),
}));

/** A small runbook built from the format's fields, as a plain object (serialized by the caller). */
export const generatedRunbook = fc.record(
  {
    vars: fc.dictionary(fc.constantFrom('x', 'y', 'n'), fc.oneof(tpl, fc.integer(), fc.record({ env: fc.constant('FUZZ_X'), required: fc.boolean(), secret: fc.boolean() }, { requiredKeys: [] }))),
    env: fc.dictionary(fc.constantFrom('E1', 'E2'), tpl, { maxKeys: 2 }),
    defaults: fc.record({ timeout: duration, retry: fc.record({ attempts: fc.integer({ min: 0, max: 101 }), delay: duration }, { requiredKeys: [] }) }, { requiredKeys: [] }),
    steps: fc.array(stepArb.step, { minLength: 0, maxLength: 4 }),
    finally: fc.array(stepArb.step, { maxLength: 2 }),
  },
  { requiredKeys: ['steps'] },
);

/*
 * Runbooks that are valid by construction (nearly always): every reference points to a declared
 * var or an earlier step, every value is of the right type. These reach buildPlan, where the
 * random ones above almost never do. `PREV` in a template is replaced by the previous step's id.
 */
const okTpl = fc.constantFrom('plain text', '{{ vars.x }}', '{{ vars.n + 1 }}', '{{ runbook.name }}', '{{ env.HOME }}', '{{ steps.PREV.stdout }}', 'a {{ vars.y }} b');
const okArgvTpl = fc.constantFrom('plain', '{{ vars.x }}', '{{ string(vars.n) }}', '{{ steps.PREV.exit_code }}');
const okBool = fc.constantFrom('exit_code == 0', 'stdout != ""', 'json.ok == true', 'size(stdout) >= 0', 'vars.n > 1', 'steps.PREV.exit_code == 0', 'attempt < 3');
const okWhen = fc.constantFrom('vars.x == "a"', 'vars.n > 0', 'true', 'has(env.HOME)', 'steps.PREV.exit_code == 0');
const okDuration = fc.constantFrom('500ms', '1s', '5m', '1h30m', '24d');
const okInclude = fc.oneof(
  fc.record({ runbook: fc.constant('disk-use'), vars: fc.record({ path: fc.constantFrom('/', '{{ vars.x }}'), max_pct: fc.constantFrom(90, '{{ vars.n }}') }, { requiredKeys: [] }) }),
  fc.record({ runbook: fc.constant('http-health'), vars: fc.record({ url: fc.constantFrom('http://127.0.0.1:1/', '{{ vars.x }}') }) }),
  fc.record({ runbook: fc.constant('cert-expiry') }),
);
const okCommandFields = {
  run: fc.oneof(okTpl, fc.array(okArgvTpl, { minLength: 1, maxLength: 3 })),
  expect: fc.oneof(okBool, fc.array(okBool, { minLength: 1, maxLength: 2 })),
  warn: okBool,
  outputs: fc.dictionary(fc.constantFrom('o', 'used'), fc.constantFrom('stdout', 'exit_code', 'json', 'duration'), { maxKeys: 2 }),
  retry: fc.record({ attempts: fc.integer({ min: 1, max: 5 }), delay: fc.constantFrom('0s', '10ms', '1s'), backoff: fc.constantFrom(1, 2) }, { requiredKeys: [] }),
  timeout: okDuration,
  env: fc.dictionary(fc.constantFrom('A', 'B_C'), fc.oneof(okTpl, fc.integer(), fc.boolean()), { maxKeys: 2 }),
  cwd: fc.constantFrom('/', '{{ env.HOME }}'),
  rollback: fc.oneof(okTpl, fc.record({ run: okTpl, timeout: okDuration, expect: okBool }, { requiredKeys: ['run'] }), fc.record({ manual: okTpl })),
  readonly: fc.boolean(),
};
const okCommon = { when: okWhen, confirm: okTpl, continue_on_error: fc.boolean() };
const okCommand = fc.record({ ...okCommandFields, ...okCommon }, { requiredKeys: ['run'] });
const okManual = fc.record({ manual: okTpl, ...okCommon }, { requiredKeys: ['manual'] });
const okIncludeStep = fc.tuple(okInclude, fc.record(okCommon, { requiredKeys: [] })).map(([inc, common]) => ({ ...common, ...inc }));
const okParallel = fc.record({ parallel: fc.array(okCommand, { minLength: 1, maxLength: 3 }), concurrency: fc.integer({ min: 1, max: 3 }) }, { requiredKeys: ['parallel'] });
const okStep = fc.oneof({ arbitrary: okCommand, weight: 4 }, okManual, okIncludeStep, okParallel);

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
/**
 * Names steps s0, s1, … (parallel children s0_0, …), and points `PREV` at the step run before
 * (`siblings`: the steps run at the same time, so none is another's PREV).
 */
function wire(steps: Record<string, unknown>[], prefix: string, prev: string | null, list: string[], siblings = false): Record<string, unknown>[] {
  return steps.map((raw, i) => {
    const id = `${prefix}${i}`;
    const step = { name: `Step ${id}`, id, ...raw } as Record<string, unknown>;
    const swap = (v: Json): Json =>
      typeof v === 'string'
        ? prev === null
          ? v.replace(/steps\.PREV\.\w+/g, 'vars.x')
          : v.replaceAll('PREV', prev)
        : Array.isArray(v)
          ? v.map(swap)
          : v !== null && typeof v === 'object'
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]))
            : v;
    for (const [k, v] of Object.entries(step)) if (k !== 'parallel') step[k] = swap(v as Json);
    // Children of a parallel group run at once: each reads only what ran before the group.
    if (Array.isArray(step.parallel)) step.parallel = wire(step.parallel as Record<string, unknown>[], `${id}_`, prev, list, true);
    list.push(id);
    if (!siblings) prev = id;
    return step;
  });
}

/** A runbook valid by construction, as a plain object; `vars.x`, `vars.y` and `vars.n` are declared. */
export const validRunbook = fc
  .record({
    x: fc.oneof(fc.constant('a'), fc.constant({ env: 'FUZZ_X', default: 'a' }), fc.constant({ env: 'FUZZ_X', required: true, secret: true })),
    y: fc.oneof(fc.constant('b'), fc.constant('{{ vars.x }}-y'), fc.constant({ default: 'b', description: 'y' })),
    n: fc.oneof(fc.constant(2), fc.constant({ default: 3, env: 'FUZZ_N' })),
    env: fc.dictionary(fc.constantFrom('E1', 'E2'), fc.constantFrom('{{ vars.x }}', 'fixed', '{{ now }}'), { maxKeys: 2 }),
    defaults: fc.record({ timeout: okDuration, retry: fc.record({ attempts: fc.integer({ min: 1, max: 3 }), delay: fc.constantFrom('0s', '1s') }, { requiredKeys: [] }) }, { requiredKeys: [] }),
    steps: fc.array(okStep, { minLength: 1, maxLength: 5 }),
    finally: fc.array(okCommand, { maxLength: 2 }),
  })
  .map(({ x, y, n, env, defaults, steps, finally: fin }) => {
    const list: string[] = [];
    const main = wire(steps as Record<string, unknown>[], 's', null, list);
    const last = list.at(-1) ?? null;
    return { vars: { x, y, n }, env, defaults, steps: main, finally: wire(fin as Record<string, unknown>[], 'f', last, list) };
  });
