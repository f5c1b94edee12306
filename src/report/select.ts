/** Which reporter: listr2 on a terminal, plain timestamped lines otherwise. */
import type { Reporter, ReporterOptions } from './reporter.js';

/** NO_COLOR and FORCE_COLOR win; otherwise colour only on a terminal. */
export function useColor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env, flag?: boolean): boolean {
  if (flag === false || (env.NO_COLOR !== undefined && env.NO_COLOR !== '')) return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return Boolean(stream.isTTY);
}

export async function createReporter(opts: ReporterOptions & { tty: boolean }): Promise<Reporter> {
  if (opts.tty) {
    const { createListrReporter } = await import('./listr.js');
    return createListrReporter(opts);
  }
  const { createPlainReporter } = await import('./plain.js');
  return createPlainReporter(opts);
}
