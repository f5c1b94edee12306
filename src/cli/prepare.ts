/**
 * The shared front half of `run` and `plan`: config, find the runbook, load and check it with
 * its includes, read vars, plan. Every problem becomes one InvalidInput (exit 2) before anything runs.
 */
import { readPlainFile } from '../runbook/plain-file.js';
import { loadConfig, type Config, type ConfigFlags } from '../config/config.js';
import { unsafeFiles } from '../config/permissions.js';
import { secretsFromEnv } from '../exec/secret-env.js';
import { buildPlan } from '../plan/plan.js';
import type { Plan } from '../plan/types.js';
import { cacheDir } from '../record/journal.js';
import { RunbookLibrary, SHIPPED_RUNBOOKS } from '../runbook/library.js';
import { openParseCache } from '../runbook/parse-cache.js';
import { parseYamlSource } from '../runbook/yaml-source.js';
import type { VarSources } from '../plan/vars.js';
import { InvalidInput, UsageError } from './errors.js';

export interface PlanFlags extends ConfigFlags {
  var?: string[];
  varsFile?: string;
  from?: string;
  only?: string;
}

/** How this launch may use the parse cache (runbook/parse-cache.ts). */
export interface CacheUse {
  /** The bundle's hash from the launcher; without it (maint run from its sources) there is no cache. */
  build?: string;
  /** Keep new parses too; `plan` and a dry run only read, so they create nothing in the state dir. */
  write?: boolean;
}

export interface Prepared {
  config: Config;
  library: RunbookLibrary;
  plan: Plan;
}

export async function preparePlan(name: string, flags: PlanFlags, cache: CacheUse = {}): Promise<Prepared> {
  const config = await loadConfig(flags);
  const parseCache = cache.build ? openParseCache(cacheDir(config.state), cache.build, { write: cache.write === true }) : undefined;
  const library = new RunbookLibrary(config.runbooks, SHIPPED_RUNBOOKS, parseCache);
  const ref = library.find(name);
  if (!ref) throw new UsageError(library.unknownMessage(name));
  const tree = library.loadTree(ref);
  const explicit = parseVarFlags(flags.var ?? []);
  const varsFile = flags.varsFile !== undefined ? readVarsFile(flags.varsFile) : { file: {} };
  if (tree.diagnostics.length > 0 || !tree.root) throw new InvalidInput(tree.diagnostics);
  const unsafe = unsafeFiles([...[...tree.runbooks.values()].map((rb) => rb.file), ...(config.file ? [config.file] : [])]);
  if (unsafe.length > 0) throw new InvalidInput(unsafe);
  const { plan, diagnostics } = buildPlan({
    root: tree.root,
    runbooks: tree.runbooks,
    sources: { explicit, ...varsFile, env: process.env, config: config.vars },
    from: flags.from,
    only: flags.only,
  });
  if (!plan) throw new InvalidInput(diagnostics);
  // Only now, with every file trusted and the plan made, are new parses worth keeping.
  parseCache?.save();
  // Environment variables that are secrets by name (PGPASSWORD, *_TOKEN, …) are masked too.
  plan.secrets = [...new Set([...plan.secrets, ...secretsFromEnv(process.env, config.secretEnv)])];
  return { config, library, plan };
}

/** `--var k=v`, repeatable; the value may contain `=`. */
export function parseVarFlags(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--var ${pair}: expected name=value`);
    // An own property even for `__proto__` (assignment would set the prototype and drop the flag).
    Object.defineProperty(out, pair.slice(0, eq), { value: pair.slice(eq + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * A `--vars-file`: YAML (or JSON) mapping var names to values, with the line of each key so an
 * unknown one can be pointed at. One that cannot be read or parsed is exit 2 with the reason.
 */
export function readVarsFile(path: string): Pick<VarSources, 'file' | 'fileOrigin'> {
  // A plain file of at most 1 MiB: /dev/zero exhausted memory, a FIFO or /dev/urandom hung.
  const read = readPlainFile(path);
  if (read.problem !== undefined) throw new UsageError(`--vars-file ${path}: ${read.problem}`);
  const text = read.bytes.toString('utf8');
  let source: ReturnType<typeof parseYamlSource>;
  try {
    source = parseYamlSource(path, text);
  } catch (err) {
    // The YAML library refuses some documents outright (an alias bomb): still the file's fault.
    throw new UsageError(`--vars-file ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (source.errors.length > 0) throw new InvalidInput(source.errors);
  const data = source.data;
  if (data === null || data === undefined) return { file: {}, fileOrigin: { path } };
  if (typeof data !== 'object' || Array.isArray(data)) throw new UsageError(`--vars-file ${path}: expected a mapping of var names to values`);
  return { file: data as Record<string, unknown>, fileOrigin: { path, keyAt: (key) => source.locate([key], { key: true }) } };
}
