/**
 * Errors carry their exit code; main() turns any of them into a message and an exit status
 * in one place.
 */
import { formatDiagnostic, sortDiagnostics, type Diagnostic } from '../runbook/diagnostics.js';

export class MaintError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Nothing ran: bad input (exit 2). */
export class UsageError extends MaintError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** Every problem found in the input, all at once (exit 2). */
export class InvalidInput extends MaintError {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(`${diagnostics.length} problem${diagnostics.length === 1 ? '' : 's'} found; nothing was run`, 2);
  }
}

/** The message and exit code for anything thrown out of a command. */
export function describeError(err: unknown): { lines: string[]; exitCode: number } {
  if (err instanceof InvalidInput) {
    return { lines: [...sortDiagnostics(err.diagnostics).map(formatDiagnostic), `maint: ${err.message}`], exitCode: err.exitCode };
  }
  if (err instanceof MaintError) return { lines: [`maint: ${err.message}`], exitCode: err.exitCode };
  const e = err as { code?: string; message?: string; stack?: string };
  // commander's own usage errors (unknown option, missing argument) are bad flags: exit 2.
  if (typeof e.code === 'string' && e.code.startsWith('commander.')) return { lines: [], exitCode: 2 };
  return { lines: [`maint: internal error: ${e.stack ?? e.message ?? String(err)}`], exitCode: 70 };
}
