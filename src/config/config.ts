/**
 * Configuration: flags beat environment (MAINT_*) beat the config file (found by cosmiconfig
 * under the name `maint`) beat defaults.
 */
import { basename, dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as z from 'zod/mini';
import '../zod-setup.js'; // before any schema is built
import { formatPath, type Diagnostic } from '../runbook/diagnostics.js';
import { meant } from '../runbook/did-you-mean.js';
import { parseYamlSource, type YamlSource } from '../runbook/yaml-source.js';
import { InvalidInput, UsageError } from '../cli/errors.js';
import { kernelFsProblem } from './kernel-fs.js';
import { configFileProblem, searchedConfigProblems } from './config-files.js';
import { importModule } from '../import-module.js';
import { NotifyTargetSchema, type NotifyTarget } from '../notify/webhook.js';
import type { CosmiconfigResult } from 'cosmiconfig';

const ConfigSchema = z.strictObject({
  runbooks: z.optional(z.array(z.string())),
  log: z.optional(z.string().check(z.minLength(1, 'a file path, not empty'))),
  state: z.optional(z.string().check(z.minLength(1, 'a folder path, not empty'))),
  vars: z.optional(z.record(z.string(), z.unknown())),
  secret_env: z.optional(z.array(z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/)))),
  output_cap: z.optional(
    z.union([z.number().check(z.int(), z.positive()), z.string().check(z.regex(/^\d+\s*(B|KB|MB|GB|KiB|MiB|GiB)$/i, 'a size such as 64MB'))]),
  ),
  notify: z.optional(z.array(NotifyTargetSchema)),
  healthcheck: z.optional(z.string().check(z.url())),
  metrics: z.optional(z.string().check(z.minLength(1, 'a file path, not empty'))),
});

/** cosmiconfig's defaults plus the YAML names the docs use (`maint.config.yaml`). */
const SEARCH_PLACES = [
  'package.json',
  '.maintrc',
  '.maintrc.json',
  '.maintrc.yaml',
  '.maintrc.yml',
  '.maintrc.js',
  '.maintrc.mjs',
  '.maintrc.cjs',
  'maint.config.yaml',
  'maint.config.yml',
  'maint.config.json',
  'maint.config.js',
  'maint.config.mjs',
  'maint.config.cjs',
];

export interface Config {
  /** Folders searched for runbooks, in order (the shipped ones come after). */
  runbooks: string[];
  log: string;
  state: string;
  vars: Record<string, unknown>;
  /** More environment variable names whose values are secrets (beyond PGPASSWORD, *_TOKEN, …). */
  secretEnv: string[];
  /** Bytes of each step's output kept in the journal. */
  outputCap: number;
  notify: NotifyTarget[];
  /** healthchecks.io-style ping URL: /start, then /<exit code>. */
  healthcheck?: string;
  /** Prometheus textfile-collector file. */
  metrics?: string;
  /** The config file used, if any. */
  file?: string;
}

export interface ConfigFlags {
  config?: string;
  runbooks?: string[];
  log?: string;
  state?: string;
}

/** A JavaScript config file: its default export (module.exports for CommonJS). */
async function loadJs(filepath: string): Promise<unknown> {
  try {
    const data = ((await importModule(pathToFileURL(filepath).href)) as { default?: unknown }).default;
    refuseImport(data, (message) => ({ file: filepath, line: 1, col: 1, path: '$import', message }));
    return data;
  } catch (err) {
    if (err instanceof InvalidInput) throw err;
    throw new InvalidInput([{ file: filepath, line: 1, col: 1, path: '', message: `the config file does not load: ${(err as Error).message}` }]);
  }
}

/**
 * cosmiconfig reads the files a `$import` names itself, unchecked (a FIFO there hangs): maint has
 * no such setting, so it is refused before cosmiconfig sees it, as any unknown setting is.
 */
function refuseImport(data: unknown, at: (message: string) => Diagnostic): void {
  if (data !== null && typeof data === 'object' && Object.hasOwn(data, '$import')) throw new InvalidInput([at('unknown setting "$import"')]);
}

/** A config file cosmiconfig could not read itself (package.json, which it also reads for its own settings). */
function notLoaded(err: unknown): never {
  if (err instanceof InvalidInput) throw err;
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT' && e.path) throw new InvalidInput([{ file: e.path, line: 1, col: 1, path: '', message: 'the config file does not exist' }]);
  const message = e.message ?? String(err);
  const m = /^\w+ Error in (.+?):\n([^]*)$/.exec(message);
  throw new InvalidInput([{ file: m?.[1] ?? 'config', line: 1, col: 1, path: '', message: (m?.[2] ?? message).split('\n')[0]! }]);
}

/**
 * Config files are read by maint's YAML parser (JSON is YAML too), as runbooks are, so a broken
 * one is reported as file:line:col (exit 2) and a wrong setting at its own line.
 */
function yamlLoader(sources: Map<string, YamlSource>) {
  return (filepath: string, content: string): unknown => {
    const source = parseYamlSource(filepath, content);
    if (source.errors.length > 0) throw new InvalidInput(source.errors);
    // In package.json the settings are under "maint".
    const inPackage = basename(filepath) === 'package.json';
    const settings = inPackage ? (source.data as Record<string, unknown> | null)?.maint : source.data;
    refuseImport(settings, (message) => source.at([...(inPackage ? ['maint'] : []), '$import'], message, { key: true }));
    sources.set(filepath, source);
    return source.data;
  };
}

/**
 * An empty path would resolve to the current folder: `--log ''` would make the log a folder and
 * `--state ''` spread the journal over the project. Said at once; an empty MAINT_* variable is
 * taken as unset, as an empty environment variable usually is.
 */
function refuseEmptyPaths(flags: ConfigFlags): void {
  const empty = (['log', 'state'] as const).filter((k) => flags[k] === '');
  if (empty.length > 0) throw new UsageError(`${empty.map((k) => `--${k}`).join(', ')}: an empty path; give a ${empty.length === 1 && empty[0] === 'state' ? 'folder' : 'path'} or leave the flag out`);
}

export async function loadConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<Config> {
  refuseEmptyPaths(flags);
  // CommonJS: its exports are the default export of a dynamic import (in Node and in the bundle).
  const { cosmiconfig } = (await import('cosmiconfig')).default;
  const sources = new Map<string, YamlSource>();
  const loadYaml = yamlLoader(sources);
  // Checked before cosmiconfig reads anything: it reads a FIFO or a device whole, or forever.
  if (flags.config) {
    const problem = configFileProblem(resolve(cwd, flags.config), true);
    if (problem) throw new UsageError(`--config ${flags.config}: ${problem}`);
  } else {
    const problems = searchedConfigProblems(resolve(cwd), SEARCH_PLACES, process.cwd());
    if (problems.length > 0) throw new UsageError(`config file ${problems.join('; ')}`);
  }
  let found: CosmiconfigResult;
  try {
    const explorer = cosmiconfig('maint', {
      searchStrategy: 'project',
      searchPlaces: SEARCH_PLACES,
      loaders: { '.js': loadJs, '.mjs': loadJs, '.cjs': loadJs, '.json': loadYaml, '.yaml': loadYaml, '.yml': loadYaml, noExt: loadYaml },
    });
    found = await (flags.config ? explorer.load(resolve(cwd, flags.config)) : explorer.search(cwd));
  } catch (err) {
    notLoaded(err);
  }
  let file: Partial<z.infer<typeof ConfigSchema>> = {};
  const base = found ? dirname(found.filepath) : cwd;
  if (found && !found.isEmpty) {
    const parsed = ConfigSchema.safeParse(found.config);
    if (!parsed.success) {
      const source = sources.get(found.filepath);
      // In package.json the settings are under "maint".
      const prefix = basename(found.filepath) === 'package.json' ? ['maint'] : [];
      const at = (path: PropertyKey[], message: string, key = false) => ({
        file: found.filepath,
        ...(source?.locate([...prefix, ...path], { key }) ?? { line: 1, col: 1 }),
        path: formatPath(path),
        message,
      });
      throw new InvalidInput(
        parsed.error.issues.flatMap((i) => {
          const path = i.path as PropertyKey[];
          if (i.code !== 'unrecognized_keys') return [at(path, i.message)];
          return i.keys.map((k) => at([...path, k], `unknown setting "${k}"${meant(k, Object.keys(ConfigSchema.def.shape))}`, true));
        }),
      );
    }
    file = parsed.data;
  }
  const fromFile = (p: string | undefined) => (p === undefined ? undefined : resolve(base, p));
  const fromHere = (p: string | undefined) => (p === undefined || p === '' ? undefined : resolve(cwd, p));
  const envList = env.MAINT_RUNBOOKS ? env.MAINT_RUNBOOKS.split(':').filter(Boolean) : undefined;

  const state = fromHere(flags.state) ?? fromHere(env.MAINT_STATE) ?? fromFile(file.state) ?? resolve(cwd, '.maint');
  // Checked here, before anything (the parse cache, the journal) creates folders under it.
  const kernel = kernelFsProblem(state);
  if (kernel) throw new UsageError(`state folder ${state}: ${kernel}`);
  return {
    runbooks: flags.runbooks?.map((p) => resolve(cwd, p)) ?? envList?.map((p) => resolve(cwd, p)) ?? file.runbooks?.map((p) => resolve(base, p)) ?? [resolve(cwd, 'runbooks')],
    log: fromHere(flags.log) ?? fromHere(env.MAINT_LOG) ?? fromFile(file.log) ?? resolve(cwd, 'maintenance-log.md'),
    state,
    vars: file.vars ?? {},
    secretEnv: file.secret_env ?? [],
    notify: (file.notify ?? []) as NotifyTarget[],
    healthcheck: file.healthcheck,
    metrics: fromFile(file.metrics),
    outputCap: parseSize(file.output_cap) ?? 64 * 1024 * 1024,
    file: found?.filepath,
  };
}

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** `64MB`, `1GiB` or a number of bytes. */
function parseSize(v: number | string | undefined): number | undefined {
  if (v === undefined || typeof v === 'number') return v;
  const m = /^(\d+)\s*([a-z]+)$/i.exec(v)!;
  return Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
}
