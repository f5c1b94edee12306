/**
 * What `maint doctor` finds out: the tools runbooks call and their versions, the cluster kubectl
 * points at, the environment the shipped runbooks read, and where maint reads and writes.
 * Facts only; commands/doctor.ts prints them.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../config/config.js';
import { inspectFolder } from '../config/permissions.js';
import { Masker, maskDeep } from '../exec/mask.js';
import { findOnPath } from '../exec/preflight.js';
import { secretsFromEnv } from '../exec/secret-env.js';
import { packagePath } from '../package-root.js';
import { cacheDir } from '../record/journal.js';
import { RunbookLibrary } from '../runbook/library.js';
import { findPgClient, missingStackTools } from '../stack/tools.js';
import { firstLine, probe } from './probe.js';

/** ok; warning: worth a look, runs still work; missing/fail: a runbook cannot run (exit 1). */
export type CheckStatus = 'ok' | 'warning' | 'missing' | 'fail';

export interface ToolFact {
  tool: string;
  status: CheckStatus;
  path: string | null;
  version: string | null;
  /** Runbooks whose `requires` (their own or an included runbook's) name this tool. */
  needed_by: string[];
  /** When missing: how to get it onto PATH (`install: apt-get …`, or where it is off PATH). */
  hint?: string;
  /** Found, but its version could not be read. */
  error?: string;
}

export interface KubeFact {
  status: 'reachable' | 'no-context' | 'unreachable' | 'no-kubectl';
  context?: string;
  server?: string;
  error?: string;
}

export interface EnvFact {
  group: 'postgresql' | 'restic';
  status: CheckStatus;
  /** Only whether each is set: values can be secrets. */
  vars: Record<string, 'set' | 'not set'>;
}

export interface PathFact {
  path: string;
  status: CheckStatus;
  exists: boolean;
  writable: boolean;
  /** Why it cannot be used, beyond permissions. */
  error?: string;
}

export interface DirFact {
  path: string;
  exists: boolean;
  runbooks: number;
}

export interface DoctorReport {
  tools: ToolFact[];
  kubernetes: KubeFact;
  env: EnvFact[];
  config: {
    file: string | null;
    runbook_dirs: DirFact[];
    shipped: DirFact;
    /** Runbooks that do not load: their `requires` are unknown (maint validate NAME says why). */
    invalid_runbooks: string[];
    log: PathFact;
    state: PathFact;
    /** Whether runs can keep runbook parses (runbook/parse-cache.ts); when not, why. */
    parse_cache: { path: string; status: 'ok' | 'warning'; in_use: boolean; problem?: string };
  };
  /** The Node running maint, and whether it started from the bundle's code cache (null: not from the bundle). */
  node: { version: string; code_cache: 'used' | 'rejected' | 'missing' | null; cache_file: string; cache_writer: string };
  exit_code: number;
}

/** The tools the shipped runbooks call, and how each says its version. */
const VERSIONED: Record<string, string[]> = {
  kubectl: ['version', '--client', '-o', 'json'],
  psql: ['--version'],
  pg_dump: ['--version'],
  pg_restore: ['--version'],
  restic: ['version'],
  curl: ['--version'],
};

/** Debian's kubernetes-client is old (1.20 in bookworm); upstream's is current. */
const KUBECTL_INSTALL = 'apt-get install -y kubernetes-client, or https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/';

export async function diagnose(config: Config, codeCache?: DoctorReport['node']['code_cache']): Promise<DoctorReport> {
  const library = new RunbookLibrary(config.runbooks);
  const { neededBy, invalid } = requirements(library);
  const [tools, kubernetes] = await Promise.all([toolFacts(neededBy, process.env.PATH ?? ''), kubeFact()]);
  const report: Omit<DoctorReport, 'exit_code'> = {
    tools,
    kubernetes,
    env: envFacts(process.env),
    config: {
      file: config.file ?? null,
      runbook_dirs: config.runbooks.map(dirFact),
      shipped: dirFact(library.shippedDir),
      invalid_runbooks: invalid,
      log: pathFact(config.log, 'file'),
      state: pathFact(config.state, 'dir'),
      parse_cache: parseCacheFact(cacheDir(config.state)),
    },
    node: { version: process.version, code_cache: codeCache ?? null, cache_file: packagePath('dist', 'maint.cjs.cache'), cache_writer: packagePath('scripts', 'code-cache.mjs') },
  };
  const bad = [...report.tools, report.config.log, report.config.state].some((f) => f.status === 'missing' || f.status === 'fail');
  return maskReport({ ...report, exit_code: bad ? 1 : 0 }, process.env, config.secretEnv);
}

/**
 * The report with the environment's secrets (PGPASSWORD, *_TOKEN, DATABASE_URL, …) masked in every
 * string: a tool's error line or a cluster's server address can quote one, and `maint doctor` output
 * is what people paste into tickets.
 */
export function maskReport(report: DoctorReport, env: Record<string, string | undefined>, secretEnv: string[] = []): DoctorReport {
  return maskDeep(report, new Masker(secretsFromEnv(env, secretEnv))) as DoctorReport;
}

/** tool → the runbooks maint can find that need it (through their includes too). */
function requirements(library: RunbookLibrary): { neededBy: Map<string, string[]>; invalid: string[] } {
  const neededBy = new Map<string, string[]>();
  const invalid: string[] = [];
  for (const ref of library.list()) {
    const tree = library.loadTree(ref);
    if (!tree.root || tree.diagnostics.length > 0) invalid.push(ref.name);
    const tools = new Set([...tree.runbooks.values()].flatMap((rb) => rb.input.requires ?? []));
    for (const tool of tools) neededBy.set(tool, [...(neededBy.get(tool) ?? []), ref.name]);
  }
  return { neededBy, invalid };
}

async function toolFacts(neededBy: Map<string, string[]>, path: string): Promise<ToolFact[]> {
  // Install hints for what is missing, from the same table the test stack uses.
  const hints = new Map(missingStackTools(path).map((t) => [t.tool, t.install]));
  hints.set('kubectl', KUBECTL_INSTALL);
  const names = [...new Set([...Object.keys(VERSIONED), ...[...neededBy.keys()].sort()])];
  return Promise.all(
    names.map(async (tool): Promise<ToolFact> => {
      const needed_by = neededBy.get(tool) ?? [];
      const found = findOnPath(tool, path);
      if (!found) {
        // Runbooks call tools by name: a psql beside the PostgreSQL server (off PATH) is not enough.
        const elsewhere = findPgClient(tool, path);
        const install = hints.get(tool);
        const hint = elsewhere ? `found at ${elsewhere}: add ${dirname(elsewhere)} to PATH` : install ? `install: ${install}` : undefined;
        return { tool, status: needed_by.length > 0 ? 'missing' : 'warning', path: null, version: null, needed_by, ...(hint ? { hint } : {}) };
      }
      const args = VERSIONED[tool];
      if (!args) return { tool, status: 'ok', path: found, version: null, needed_by };
      const r = await probe(found, args);
      const version = r.ok ? parseVersion(tool, r.stdout) : null;
      if (version) return { tool, status: 'ok', path: found, version, needed_by };
      return { tool, status: 'warning', path: found, version: null, needed_by, error: `\`${tool} ${args.join(' ')}\` failed: ${r.failure ?? 'no version in its output'}${r.stderr ? `: ${firstLine(r.stderr)}` : ''}` };
    }),
  );
}

/**
 * The cache is used only in a folder nobody but maint's user (or root) can change, nor any folder
 * above it. Not made yet: the nearest folder that exists is what it will be made in.
 */
function parseCacheFact(path: string): DoctorReport['config']['parse_cache'] {
  const uid = process.geteuid?.();
  if (uid === undefined) return { path, status: 'ok', in_use: false };
  let at = path;
  while (existsAs(at) === null && dirname(at) !== at) at = dirname(at);
  const r = inspectFolder(at, uid, at !== path);
  return 'problem' in r ? { path, status: 'warning', in_use: false, problem: r.problem } : { path, status: 'ok', in_use: true };
}

/** `v1.32.4` from kubectl's JSON; `15.18`, `0.14.0`, `7.88.1` from the others' first line. */
function parseVersion(tool: string, stdout: string): string | null {
  if (tool === 'kubectl') {
    try {
      const v = (JSON.parse(stdout) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion;
      if (v) return v;
    } catch {
      // Not JSON: an old or wrapped kubectl; read its text.
    }
  }
  return /\bv?\d+\.\d+(\.\d+)?[^\s,)]*/.exec(firstLine(stdout))?.[0] ?? null;
}

/** The current context, and whether its API server answers `/version` within 3s. */
async function kubeFact(): Promise<KubeFact> {
  const kubectl = findOnPath('kubectl');
  if (!kubectl) return { status: 'no-kubectl' };
  const ctx = await probe(kubectl, ['config', 'current-context']);
  const context = firstLine(ctx.stdout);
  if (!ctx.ok || !context) return { status: 'no-context' };
  const [server, version] = await Promise.all([
    probe(kubectl, ['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}']),
    probe(kubectl, ['get', '--raw', '/version', '--request-timeout=3s']),
  ]);
  const fact: KubeFact = { status: version.ok ? 'reachable' : 'unreachable', context };
  if (server.ok && server.stdout.trim()) fact.server = server.stdout.trim();
  if (!version.ok) fact.error = firstLine(version.stderr) || version.failure;
  return fact;
}

const ENV_GROUPS = {
  postgresql: ['DATABASE_URL', 'PGHOST', 'PGDATABASE', 'PGUSER'],
  restic: ['RESTIC_REPOSITORY', 'RESTIC_PASSWORD', 'RESTIC_PASSWORD_FILE', 'RESTIC_PASSWORD_COMMAND'],
} as const;

function envFacts(env: NodeJS.ProcessEnv): EnvFact[] {
  const isSet = (name: string) => Boolean(env[name]);
  const vars = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, isSet(n) ? 'set' : 'not set'] as const));
  // psql needs any one of these to find a server; restic needs a repository and a way to its password.
  const pgOk = ENV_GROUPS.postgresql.some(isSet);
  const resticOk = isSet('RESTIC_REPOSITORY') && ENV_GROUPS.restic.slice(1).some(isSet);
  return [
    { group: 'postgresql', status: pgOk ? 'ok' : 'warning', vars: vars(ENV_GROUPS.postgresql) },
    { group: 'restic', status: resticOk ? 'ok' : 'warning', vars: vars(ENV_GROUPS.restic) },
  ];
}

function dirFact(dir: string): DirFact {
  const exists = isDir(dir);
  // A library over this folder alone counts its runbooks the way `maint list` finds them.
  return { path: dir, exists, runbooks: exists ? new RunbookLibrary([], dir).list().length : 0 };
}

/**
 * Can maint write here? Checked on the path itself when it exists, else on its nearest existing
 * parent (maint creates the rest), so nothing is created or left behind.
 */
function pathFact(path: string, kind: 'file' | 'dir'): PathFact {
  const is = existsAs(path);
  if (is !== null && is !== kind) return { path, status: 'fail', exists: true, writable: false, error: `is a ${is === 'dir' ? 'folder' : 'file'}` };
  let at = path;
  while (existsAs(at) === null && dirname(at) !== at) at = dirname(at);
  const writable = existsAs(at) === 'dir' ? canWrite(at, constants.W_OK | constants.X_OK) : at === path && canWrite(at, constants.W_OK);
  return { path, status: writable ? 'ok' : 'fail', exists: is !== null, writable };
}

function existsAs(path: string): 'file' | 'dir' | null {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return null;
  }
}

const isDir = (p: string) => existsAs(p) === 'dir';

/** A folder needs search (x) as well as write (w) for maint to create entries in it. */
function canWrite(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}
