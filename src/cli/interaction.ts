/**
 * Asking a person. Only used when stdin and stdout are terminals and this is not CI: an
 * unattended run never reads stdin.
 */
import { createInterface } from 'node:readline/promises';
import type { Interaction } from '../exec/executor.js';
import type { Reporter } from '../report/reporter.js';

export function isInteractive(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY) && !env.CI;
}

export function terminalInteraction(opts: { yes: boolean; interactive: boolean; reporter: Reporter }): Interaction {
  return {
    interactive: opts.interactive,
    yes: opts.yes,
    async ask(question: string): Promise<boolean> {
      opts.reporter.suspend?.();
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      // End of input (Ctrl-D, a closed terminal) is a "no", never a hang.
      const closed = new Promise<string>((resolve) => rl.once('close', () => resolve('')));
      try {
        const answer = await Promise.race([rl.question(`\n? ${question} [y/N] `), closed]);
        return /^y(es)?$/i.test(answer.trim());
      } finally {
        rl.close();
        opts.reporter.resume?.();
      }
    },
  };
}
