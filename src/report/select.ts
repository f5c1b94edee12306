/**
 * Which reporters: NDJSON with --json; else listr2 on a terminal, GitHub Actions or GitLab CI
 * formats in those pipelines, plain timestamped lines otherwise; plus JUnit with --junit.
 * Each is imported only when chosen.
 */
import type { RunEvent } from '../exec/events.js';
import type { Reporter, ReporterOptions } from './reporter.js';

/** NO_COLOR and FORCE_COLOR win; otherwise colour only on a terminal. */
export function useColor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env, flag?: boolean): boolean {
  if (flag === false || (env.NO_COLOR !== undefined && env.NO_COLOR !== '')) return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return Boolean(stream.isTTY);
}

export interface SelectOptions extends ReporterOptions {
  tty: boolean;
  /** --json: NDJSON events on stdout and nothing else there. */
  json?: boolean;
  /** --junit FILE. */
  junit?: string;
  env: NodeJS.ProcessEnv;
}

export async function createReporter(opts: SelectOptions): Promise<Reporter> {
  const reporters: Reporter[] = [await consoleReporter(opts)];
  if (opts.junit) {
    const { createJunitReporter } = await import('./junit.js');
    reporters.push(createJunitReporter(opts.junit, { suiteName: opts.plan.runbook.name, plan: opts.plan }));
  }
  return reporters.length === 1 ? reporters[0]! : fanOut(reporters);
}

async function consoleReporter(opts: SelectOptions): Promise<Reporter> {
  if (opts.json) {
    const [{ createNdjsonReporter }, { Masker }] = await Promise.all([import('./ndjson.js'), import('../exec/mask.js')]);
    return createNdjsonReporter(opts.out, new Masker(opts.plan.secrets));
  }
  if (opts.tty) {
    const { createListrReporter } = await import('./listr.js');
    return createListrReporter(opts);
  }
  if (opts.env.GITHUB_ACTIONS === 'true') {
    const { createGithubReporter } = await import('./github.js');
    return createGithubReporter(opts.out, opts.env);
  }
  if (opts.env.GITLAB_CI === 'true') {
    const { createGitlabReporter } = await import('./gitlab.js');
    return createGitlabReporter(opts.out, { color: opts.color });
  }
  const { createPlainReporter } = await import('./plain.js');
  return createPlainReporter(opts);
}

/** Every event to every reporter; close waits for all (a JUnit file that can't be written rejects). */
function fanOut(reporters: Reporter[]): Reporter {
  return {
    handle: (e: RunEvent) => reporters.forEach((r) => r.handle(e)),
    suspend: () => reporters.forEach((r) => r.suspend?.()),
    resume: () => reporters.forEach((r) => r.resume?.()),
    close: async () => {
      await Promise.all(reporters.map((r) => r.close()));
    },
  };
}
