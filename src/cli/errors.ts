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

/** Exit status of an internal error (EX_SOFTWARE): a bug in maint, never bad input. */
export const INTERNAL_ERROR = 70;

/** What the handler knows about an internal error when it describes it. */
export interface CrashContext {
  version?: string;
  /** Where the full stack was written; null when it could not be written anywhere. */
  crashFile?: string | null;
}

/**
 * The message and exit code for anything thrown out of a command. Pure, so whatever closes a run
 * that crashed can say the same. User errors: their diagnostics or one line, exit 2. Anything
 * else is a bug in maint: one line naming the error class (its message may hold a secret), the
 * version and where the stack went, exit 70; never the stack itself.
 */
export function describeError(err: unknown, crash: CrashContext = {}): { lines: string[]; exitCode: number } {
  if (err instanceof InvalidInput) {
    return { lines: [...sortDiagnostics(err.diagnostics).map(formatDiagnostic), `maint: ${err.message}`], exitCode: err.exitCode };
  }
  if (err instanceof MaintError) return { lines: [`maint: ${err.message}`], exitCode: err.exitCode };
  const e = err as { code?: string; name?: string } | null | undefined;
  // commander's own usage errors (unknown option, missing argument) are bad flags: exit 2.
  if (typeof e?.code === 'string' && e.code.startsWith('commander.')) return { lines: [], exitCode: 2 };
  const kind = err instanceof Error ? err.name || 'Error' : typeof err;
  const version = crash.version ? ` ${crash.version}` : '';
  const where =
    crash.crashFile === undefined
      ? ''
      : crash.crashFile === null
        ? '; the stack could not be written to a file (set MAINT_DEBUG=1 to print it)'
        : `; the stack is in ${crash.crashFile}`;
  return { lines: [`maint: internal error (${kind}): a bug in maint${version}${where}; please report it`], exitCode: INTERNAL_ERROR };
}

/** True for what describeError calls a bug in maint. */
export function isInternalError(err: unknown): boolean {
  if (err instanceof MaintError) return false;
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return !(typeof code === 'string' && code.startsWith('commander.'));
}
