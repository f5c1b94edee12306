/**
 * The real stack the shipped runbooks run against in tests: PostgreSQL, a restic repository and
 * an HTTP service (src/stack), and the real kubectl pointed at the fake API server
 * (test/harness). maint runs as a user would: the built CLI in a project folder of its own,
 * with the usual environment variables (DATABASE_URL, RESTIC_*, KUBECONFIG) set, and nothing else
 * from the test's own environment.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startStack, type Stack } from '../../src/stack/stack.js';
import { findPgServer } from '../../src/stack/tools.js';
import { startKubeApi, type KubeApi, type Seed } from '../harness/kube-api.js';
import { childEnv, maint, type CliResult } from './cli.js';
import { requireTool } from './tools.js';

const exec = promisify(execFile);

export interface RealStack {
  stack: Stack;
  kube: KubeApi;
  /** The project folder maint runs in (its log and state land here). */
  dir: string;
  /** What maint gets on top of the allowlisted environment (see `childEnv`). */
  env: Record<string, string>;
  maint(args: string[], env?: Record<string, string>): Promise<CliResult>;
  /** `kubectl ARGS` against the fake cluster; stdout. */
  kubectl(...args: string[]): Promise<string>;
  /** A restic command against the repository; stdout. */
  restic(...args: string[]): Promise<string>;
  /** Write a file into the project folder; its path. */
  file(name: string, text: string): string;
  stop(): Promise<void>;
}

/** The `step:end` events of a `--json` run, by step id (status, outputs, exitCode, reason…). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function stepEnds(ndjson: string): Record<string, any> {
  const events = ndjson.trim().split('\n').map((l) => JSON.parse(l));
  return Object.fromEntries(events.filter((e) => e.type === 'step:end').map((e) => [e.qid, e]));
}

/** Whether every tool the runbooks drive is here (locally a missing one skips loudly; under CI it fails). */
export function haveRealStack(): boolean {
  const server = findPgServer() !== null || requireTool('initdb');
  return requireTool('psql', 'pg_dump', 'pg_restore', 'restic', 'curl', 'kubectl') && server;
}

export async function startRealStack(seed: Partial<Seed> = {}): Promise<RealStack> {
  const [stack, kube] = await Promise.all([startStack(), startKubeApi(seed)]);
  const dir = mkdtempSync(join(tmpdir(), 'maint-stack-project-'));
  const env: Record<string, string> = {
    ...kube.env,
    ...stack.restic.env,
    DATABASE_URL: stack.postgres.url('app'),
    MAINT_DR_SCRATCH_URL: stack.postgres.url('app_scratch'),
  };
  const run = async (cmd: string, args: string[]): Promise<string> =>
    (await exec(cmd, args, { env: childEnv(env), maxBuffer: 64 << 20 })).stdout;
  return {
    stack,
    kube,
    dir,
    env,
    maint: (args, more = {}) => maint(args, { cwd: dir, env: { ...env, ...more } }),
    kubectl: (...args) => run('kubectl', args),
    restic: (...args) => run('restic', args),
    file: (name, text) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    stop: async () => {
      await Promise.all([stack.stop(), kube.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
