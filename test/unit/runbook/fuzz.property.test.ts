/**
 * No runbook text crashes maint: mutated shipped runbooks and generated ones go through
 * load → check → buildPlan in-process. Nothing may throw, and every problem carries a position.
 * Budget: 1000 mutated and 500 generated runbooks per property: ~15 s on an idle 2-core machine,
 * about a minute when it is shared with other work. FUZZ_RUNS scales it; FUZZ_SEED picks another
 * sample (the default seed is fixed, so CI replays the same cases).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { buildPlan, type PlanResult } from '../../../src/plan/plan.js';
import type { VarSources } from '../../../src/plan/vars.js';
import type { Diagnostic } from '../../../src/runbook/diagnostics.js';
import { RunbookLibrary, type RunbookTree } from '../../../src/runbook/library.js';
import type { LoadedRunbook } from '../../../src/runbook/parse.js';
import { generatedRunbook, mutate, mutation, mutatedShipped, shipped, SHIPPED_DIR, validRunbook } from '../../fuzz/runbook-mutations.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
/** Generated runbooks are larger (~5 KB of YAML each): half as many fit the same time. */
const GEN_RUNS = Math.max(1, Math.round(RUNS / 2));
/** Generous per test: a loaded machine, and more runs when FUZZ_RUNS asks for them. */
const TIMEOUT = Math.max(120_000, RUNS * 300);
const SEED = process.env.FUZZ_SEED === undefined ? 15 : Number(process.env.FUZZ_SEED);
const dir = mkdtempSync(join(tmpdir(), 'maint-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
// One library for all cases: the shipped runbooks are parsed once, each case's file is new.
const library = new RunbookLibrary([], SHIPPED_DIR);
/** Loads `text` as the runbook `file`, including the shipped runbooks by name, as `maint validate` would. */
function loadTree(file: string, text: string): RunbookTree {
  const sub = join(dir, String(n++));
  const path = join(sub, file);
  mkdirSync(sub, { recursive: true });
  writeFileSync(path, text);
  return library.loadTree({ name: file.replace(/\.yaml$/, ''), file: path, shipped: false });
}

/**
 * Every var set: the root's with `--var` (typed like its default when `typed`, else `value`),
 * and every runbook's `env:` variables in the environment.
 */
function fullSources(root: LoadedRunbook, runbooks: Iterable<LoadedRunbook>, value: string, typed = false): VarSources {
  const env: Record<string, string> = {};
  const explicit: Record<string, unknown> = {};
  const valueFor = (decl: unknown): string => {
    if (!typed) return value;
    const d = decl !== null && typeof decl === 'object' && !Array.isArray(decl) ? (decl as { default?: unknown }).default : decl;
    return typeof d === 'number' ? '7' : typeof d === 'boolean' ? 'true' : Array.isArray(d) ? '["a"]' : value;
  };
  for (const rb of [root, ...runbooks]) {
    for (const [name, decl] of Object.entries(rb.input.vars ?? {})) {
      if (rb === root) explicit[name] = valueFor(decl);
      if (decl !== null && typeof decl === 'object' && !Array.isArray(decl) && typeof decl.env === 'string') env[decl.env] = valueFor(decl);
    }
  }
  return { explicit, file: {}, env, config: {} };
}

const EMPTY: VarSources = { explicit: {}, file: {}, env: {}, config: {} };

function positioned(ds: Diagnostic[]): string[] {
  return ds
    .filter((d) => !(typeof d.file === 'string' && d.file !== '' && Number.isInteger(d.line) && d.line >= 1 && Number.isInteger(d.col) && d.col >= 1 && d.message))
    .map((d) => JSON.stringify(d));
}

/** Load and check; the problems found must all have a position. Returns the tree for planning. */
function loadAndCheck(file: string, text: string): RunbookTree {
  const tree = loadTree(file, text);
  expect(positioned(tree.diagnostics)).toEqual([]);
  // A runbook with problems is never planned; one without them has a root to plan.
  if (tree.diagnostics.length === 0) expect(tree.root).not.toBeNull();
  return tree;
}

function plans(tree: RunbookTree, sources: VarSources): PlanResult | undefined {
  if (!tree.root || tree.diagnostics.length > 0) return undefined;
  let result;
  try {
    result = buildPlan({ root: tree.root, runbooks: tree.runbooks, sources });
  } catch (err) {
    // A short report: the CEL library's errors carry their whole syntax tree.
    const e = err as Error;
    throw new Error(`buildPlan threw ${e.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}`);
  }
  expect(positioned(result.diagnostics)).toEqual([]);
  expect(result.plan !== null || result.diagnostics.length > 0).toBe(true);
  return result;
}

const params = (runs: number) => ({ numRuns: runs, seed: SEED, endOnFailure: true });

// The random runbooks below almost never validate, so they test load and check; the ones valid by
// construction (and those mutated a little) are what reach buildPlan.
describe('no runbook text crashes load and check', () => {
  it('mutated shipped runbooks: nothing throws, every problem has file:line:col', { timeout: TIMEOUT }, () => {
    fc.assert(
      fc.property(mutatedShipped, ({ file, text }) => {
        loadAndCheck(file, text);
      }),
      params(RUNS),
    );
  });

  it('generated runbooks: nothing throws, every problem has file:line:col', { timeout: TIMEOUT }, () => {
    fc.assert(
      fc.property(generatedRunbook, (doc) => {
        loadAndCheck('gen.yaml', stringify(doc));
      }),
      params(GEN_RUNS),
    );
  });
});

describe('buildPlan is total on runbooks that validate', () => {
  it('mutated shipped runbooks, with every var set', { timeout: TIMEOUT }, () => {
    fc.assert(
      fc.property(mutatedShipped, fc.constantFrom('x', '1', 'true', '["a"]'), ({ file, text }, value) => {
        const tree = loadAndCheck(file, text);
        if (tree.root) plans(tree, fullSources(tree.root, tree.runbooks.values(), value));
      }),
      params(RUNS),
    );
  });

  it('runbooks valid by construction validate, and with every var set they plan without a problem', { timeout: TIMEOUT }, () => {
    fc.assert(
      fc.property(validRunbook, (doc) => {
        const tree = loadAndCheck('valid.yaml', stringify(doc));
        expect(tree.diagnostics.map((d) => d.message)).toEqual([]);
        const result = plans(tree, fullSources(tree.root!, tree.runbooks.values(), 'x', true))!;
        expect(result.diagnostics.map((d) => d.message)).toEqual([]);
        expect(result.plan).not.toBeNull();
      }),
      params(GEN_RUNS),
    );
  });

  it('runbooks valid by construction, then mutated, with every var set', { timeout: TIMEOUT }, () => {
    fc.assert(
      fc.property(validRunbook, fc.array(mutation, { minLength: 1, maxLength: 3 }), (doc, mutations) => {
        const tree = loadAndCheck('valid.yaml', mutate(stringify(doc), mutations));
        if (tree.root) plans(tree, fullSources(tree.root, tree.runbooks.values(), 'x', true));
      }),
      params(GEN_RUNS),
    );
  });

  // A var default template reading a required var that is missing once crashed the planner
  // ("No such key: x"): the example replays it first whatever FUZZ_RUNS is.
  it('runbooks valid by construction, then mutated, with no var set', { timeout: TIMEOUT }, () => {
    const known = { vars: { x: { env: 'FUZZ_X', required: true }, y: '{{ vars.x }}-y' }, steps: [{ name: 'a', run: 'echo {{ vars.y }}' }] };
    fc.assert(
      fc.property(validRunbook, fc.array(mutation, { maxLength: 3 }), (doc, mutations) => {
        plans(loadAndCheck('valid.yaml', mutate(stringify(doc), mutations)), EMPTY);
      }),
      { ...params(GEN_RUNS), examples: [[known as never, []]] },
    );
  });

  // An include's `vars:` rendered with a required var missing once crashed the planner ("No such
  // key: restic_repository"): the unmutated daily.yaml goes first, whatever FUZZ_RUNS is.
  it('mutated shipped runbooks, with no var set', { timeout: TIMEOUT }, () => {
    const daily = shipped.find((s) => s.file === 'daily.yaml')!;
    fc.assert(
      fc.property(mutatedShipped, ({ file, text }) => {
        plans(loadAndCheck(file, text), EMPTY);
      }),
      { ...params(RUNS), examples: [[daily]] },
    );
  });
});

describe('the shipped runbooks themselves', () => {
  it.each(shipped.map((s) => [s.file, s.text] as const))('%s loads and checks without a problem', (file, text) => {
    const tree = loadTree(file, text);
    expect(tree.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`)).toEqual([]);
    expect(tree.root).not.toBeNull();
  });
});
