/**
 * Asking a person. Only used when stdin and stdout are terminals and this is not CI: an
 * unattended run never reads stdin.
 */
import { hostname, userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import type { ConfirmAnswer, Interaction } from '../exec/executor.js';
import type { Reporter } from '../report/reporter.js';

export function isInteractive(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY) && !env.CI;
}

/** `user@host` of whoever runs maint here. */
export function operator(env: NodeJS.ProcessEnv = process.env): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = env.USER ?? String(process.getuid?.() ?? 'unknown');
  }
  return `${user}@${hostname()}`;
}

/**
 * What an answer to a confirm question means. Only a clear yes goes ahead and only a clear pause
 * pauses: anything else, an empty line or the end of input included, is a no, which aborts.
 */
export function parseConfirmAnswer(answer: string): ConfirmAnswer {
  const a = answer.trim().toLowerCase();
  if (a === 'y' || a === 'yes') return 'yes';
  if (a === 'p' || a === 'pause') return 'pause';
  return 'no';
}

export function terminalInteraction(opts: { yes: boolean; interactive: boolean; reporter: Reporter; who?: string }): Interaction {
  const prompt = async (question: string): Promise<string> => {
    opts.reporter.suspend?.();
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    // End of input (Ctrl-D, a closed terminal) is an empty answer, never a hang.
    const closed = new Promise<string>((resolve) => rl.once('close', () => resolve('')));
    try {
      return await Promise.race([rl.question(question), closed]);
    } finally {
      rl.close();
      opts.reporter.resume?.();
    }
  };
  return {
    interactive: opts.interactive,
    yes: opts.yes,
    who: opts.who ?? operator(),
    async ask(question: string): Promise<boolean> {
      return /^y(es)?$/i.test((await prompt(`\n? ${question} [y/N] `)).trim());
    },
    async confirm(question: string): Promise<ConfirmAnswer> {
      return parseConfirmAnswer(await prompt(`\n? ${question}\n  yes: go ahead · no: abort and roll back · pause: stop here, resume later [y/N/p] `));
    },
  };
}
