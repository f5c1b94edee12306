/**
 * A small sample of mutated runbooks (shipped ones, and ones valid by construction) through the built binary: `validate`, `plan` and
 * `run --dry-run`. None may end in exit 70 or print a stack; every exit 2 says where.
 * The in-process property test (test/unit/runbook/fuzz.property.test.ts) covers far more cases;
 * this one proves the same of the real CLI, its error handling and its output.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { maint, project, type CliResult } from '../helpers/cli.js';
import { mutate, mutatedShipped, mutation, validRunbook } from '../fuzz/runbook-mutations.js';

const CASES = Number(process.env.FUZZ_CLI_CASES ?? 30);
const SEED = process.env.FUZZ_SEED === undefined ? 15 : Number(process.env.FUZZ_SEED);
// Two thirds mutated shipped runbooks; a third valid by construction and then mutated a little,
// which get further: past validation into planning and the dry run.
const samples = [
  ...fc.sample(mutatedShipped, { numRuns: Math.ceil((CASES * 2) / 3), seed: SEED }),
  ...fc
    .sample(fc.tuple(validRunbook, fc.array(mutation, { maxLength: 2 })), { numRuns: Math.floor(CASES / 3), seed: SEED })
    .map(([doc, mutations]) => ({ file: 'valid.yaml', text: mutate(stringify(doc), mutations) })),
];

/** Every variable the runbooks read from the environment, set, so a run gets past vars and further. */
const ENV = {
  DATABASE_URL: 'postgres://fuzz@127.0.0.1:1/none',
  MAINT_DR_SCRATCH_URL: 'postgres://fuzz@127.0.0.1:1/scratch',
  RESTIC_REPOSITORY: '/nonexistent/repo',
  RESTIC_PASSWORD: 'fuzz-password',
  FUZZ_X: 'fuzz-x',
  FUZZ_N: '7',
  LANG: 'C.UTF-8',
};

/** `--var` for each var the (mutated) root declares, when its YAML still reads as a mapping. */
function varFlags(text: string): string[] {
  try {
    const doc: unknown = parse(text, { maxAliasCount: 100 });
    const vars = (doc as { vars?: unknown } | null)?.vars;
    if (vars === null || typeof vars !== 'object' || Array.isArray(vars)) return [];
    return Object.keys(vars).filter((k) => /^[A-Za-z_]\w*$/.test(k)).flatMap((k) => ['--var', `${k}=x`]);
  } catch {
    return [];
  }
}

/** What is wrong with one command's result, or nothing. */
function verdict(r: CliResult): string[] {
  const wrong: string[] = [];
  if (r.code === 70) wrong.push('exit 70 (internal error)');
  if (r.code === null) wrong.push(`killed by ${r.signal}`);
  if (/^\s+at .+(:\d+:\d+\)?|<anonymous>)$/m.test(r.stderr) || /internal error/i.test(r.stderr)) wrong.push('a stack or internal error in stderr');
  if (r.code === 2 && !/^[^\s:][^:]*:\d+:\d+: /m.test(r.stderr)) wrong.push('exit 2 without a position');
  return wrong;
}

describe('mutated runbooks through the built CLI', () => {
  // Concurrent: each case waits on its own processes most of the time.
  it.concurrent.for(samples.map((s, i) => [i, s.file, s.text] as const))('case %i (%s): no exit 70, no stack, exit 2 with a position', { timeout: 120_000 }, async ([, file, text], { expect }) => {
    const dir = project({ [file]: text });
    const name = file.replace(/\.yaml$/, '').replace(/^_/, '');
    const env = { ...ENV, HOME: mkdtempSync(join(tmpdir(), 'maint-home-')) };
    const vars = varFlags(text);
    const results = {
      validate: await maint(['validate', `runbooks/${file}`], { cwd: dir, env }),
      plan: await maint(['plan', name, ...vars], { cwd: dir, env }),
      dryRun: await maint(['run', name, '--dry-run', ...vars], { cwd: dir, env }),
      // A newcomer's first try: nothing exported, no --var.
      bare: await maint(['plan', name], { cwd: dir, env: { HOME: env.HOME } }),
    };
    const problems = Object.entries(results).flatMap(([cmd, r]) => verdict(r).map((w) => `${cmd}: ${w} (exit ${r.code})\n${r.stderr.slice(0, 2000)}`));
    expect(problems, `runbook ${file} as mutated:\n${text}`).toEqual([]);
    // validate and a run agree on whether the runbook is valid.
    if (results.validate.code === 2) expect([results.plan.code, results.dryRun.code, results.bare.code]).toEqual([2, 2, 2]);
  });
});
