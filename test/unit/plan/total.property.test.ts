/**
 * Planning is total: for every shipped runbook and any mix of var sources (each declared var
 * present or absent in --var, --vars-file, its environment variable or config, with well- or
 * ill-typed values), buildPlan never throws, and returns either a plan or problems that all
 * carry a position.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPlan } from '../../../src/plan/format.js';
import { buildPlan } from '../../../src/plan/plan.js';
import { planToJson } from '../../../src/plan/json.js';
import type { VarSources } from '../../../src/plan/vars.js';
import { RunbookLibrary, SHIPPED_RUNBOOKS } from '../../../src/runbook/library.js';
import type { LoadedRunbook } from '../../../src/runbook/parse.js';

const library = new RunbookLibrary([], SHIPPED_RUNBOOKS);
const shipped = library.list().filter((r) => r.shipped);

/** Values a source may hold: typed like a default, mistyped, empty, odd or hostile. */
const value = fc.oneof(
  fc.constantFrom('5', '0', '-1', '1.5', 'true', 'false', 'a,b', '["x"]', '{"k":"v"}', 'http://localhost/x', '24h'),
  fc.constantFrom('', ' ', 'abc', '[', '{', '[1]', 'null', 'x\0y', '{{ vars.x }}', '1e309', 'NaN'),
  fc.string({ maxLength: 12 }),
);
/** --vars-file and config hold YAML values, not only strings. */
const yamlValue = fc.oneof(value, fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }));

/** `arb` one time in `n`, else undefined. */
const rarely = <T>(arb: fc.Arbitrary<T>, n: number) => fc.oneof({ arbitrary: fc.constant(undefined), weight: n - 1 }, { arbitrary: arb, weight: 1 });

interface Decl {
  name: string;
  env?: string;
  default?: unknown;
}

/** A value typed like the var's default, most of the time; any of the odd ones otherwise. */
function valueFor(d: Decl): fc.Arbitrary<string> {
  const like = d.default;
  const good =
    typeof like === 'number'
      ? fc.oneof(fc.integer({ min: 0, max: 1000 }).map(String), fc.constantFrom('1.5', '0'))
      : typeof like === 'boolean'
        ? fc.constantFrom('true', 'false', 'TRUE')
        : Array.isArray(like)
          ? fc.constantFrom('a,b', '["x"]', '', 'http://a')
          : like !== null && typeof like === 'object'
            ? fc.constantFrom('{"k":"v"}', '{}')
            : fc.constantFrom('postgresql://app@db/app', '/srv/restic', 'pw-123456', 'api:v1.2.4', 'default', '24h');
  return fc.oneof({ arbitrary: good, weight: 8 }, { arbitrary: value, weight: 1 });
}

function declsOf(runbooks: Iterable<LoadedRunbook>): Decl[] {
  const out: Decl[] = [];
  for (const rb of runbooks) {
    for (const [name, raw] of Object.entries(rb.input.vars ?? {})) {
      const env = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as { env?: string }).env : undefined;
      const def = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as { default?: unknown }).default : raw;
      out.push({ name, ...(env ? { env } : {}), default: def });
    }
  }
  return out;
}

function sourcesFor(root: LoadedRunbook, all: Decl[]): fc.Arbitrary<{ sources: VarSources; only?: string; from?: string }> {
  const own = declsOf([root]);
  const stepRefs = [...root.sites.map((s) => s.id), ...root.sites.map((s) => s.step.name), 'no-such-step'];
  const perVar = (d: Decl) =>
    fc.record({
      explicit: fc.option(valueFor(d), { nil: undefined, freq: 2 }),
      file: fc.option(fc.oneof({ arbitrary: valueFor(d), weight: 6 }, { arbitrary: yamlValue, weight: 1 }), { nil: undefined, freq: 2 }),
      env: d.env ? fc.option(valueFor(d).filter((v) => !v.includes('\0')), { nil: undefined, freq: 2 }) : fc.constant(undefined),
      config: fc.option(fc.oneof({ arbitrary: valueFor(d), weight: 6 }, { arbitrary: yamlValue, weight: 1 }), { nil: undefined, freq: 2 }),
    });
  return fc
    .record({
      // Root vars come from every source; included runbooks' vars only from env and config.
      root: fc.tuple(...own.map(perVar)),
      inner: fc.tuple(...all.filter((d) => !own.includes(d)).map(perVar)),
      unknown: rarely(fc.constantFrom('nmespace', 'zzz', 'database_ur'), 10),
      only: rarely(fc.constantFrom(...stepRefs), 4),
      from: rarely(fc.constantFrom(...stepRefs), 4),
    })
    .map(({ root: picks, inner, unknown, only, from }) => {
      const sources: VarSources = { explicit: {}, file: {}, env: { PATH: '/usr/bin', HOME: '/root' }, config: {} };
      own.forEach((d, i) => {
        const p = picks[i]!;
        if (p.explicit !== undefined) sources.explicit[d.name] = p.explicit;
        if (p.file !== undefined) sources.file[d.name] = p.file;
        if (p.env !== undefined && d.env) sources.env[d.env] = p.env;
        if (p.config !== undefined) sources.config[d.name] = p.config;
      });
      all.filter((d) => !own.includes(d)).forEach((d, i) => {
        const p = inner[i]!;
        if (p.env !== undefined && d.env) sources.env[d.env] = p.env;
        if (p.config !== undefined) sources.config[d.name] = p.config;
      });
      if (unknown) {
        sources.explicit[unknown] = 'x';
        sources.file[unknown] = 'x';
      }
      return { sources, ...(only ? { only } : {}), ...(from ? { from } : {}) };
    });
}

describe('buildPlan is total over the shipped runbooks', () => {
  it('found the shipped runbooks', () => {
    expect(shipped.map((r) => r.name)).toEqual(expect.arrayContaining(['daily', 'weekly', 'monthly', 'update-patch']));
  });

  it.each(shipped.map((r) => [r.name, r] as const))('%s: never throws; a plan, or positioned problems', (_name, ref) => {
    const tree = library.loadTree(ref);
    expect(tree.diagnostics).toEqual([]);
    const root = tree.root!;
    const decls = declsOf(tree.runbooks.values());
    const outcomes: [number, number] = [0, 0];
    fc.assert(
      fc.property(sourcesFor(root, decls), ({ sources, only, from }) => {
        const { plan, diagnostics } = buildPlan({ root, runbooks: tree.runbooks, sources, only, from });
        outcomes[plan ? 0 : 1]++;
        if (plan) {
          expect(diagnostics).toEqual([]);
          // What `maint plan` prints from it must not throw either.
          formatPlan(plan, sources.env);
          planToJson(plan, sources.env);
        } else {
          expect(diagnostics.length).toBeGreaterThan(0);
          for (const d of diagnostics) {
            expect(d.file).toMatch(/\S/);
            expect(d.line).toBeGreaterThanOrEqual(1);
            expect(d.col).toBeGreaterThanOrEqual(1);
            expect(d.message).toMatch(/\S/);
          }
        }
      }),
      // ~8 runbooks × 200 runs stays well under 20 s on a loaded 2-core machine.
      // Under mutation testing each surviving mutant reruns this: fewer runs keep that bounded.
      { numRuns: '__stryker__' in globalThis ? 25 : 200 },
    );
    // Both outcomes were seen, so both branches above were exercised.
    expect(outcomes.every((n) => n > 0)).toBe(true);
  });
});
