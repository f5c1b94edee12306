/**
 * The one error type of the expression layer.
 *
 * Kept in its own module without importing the CEL library, so callers can
 * test `instanceof ExprError` without paying for loading the library.
 */

/** A CEL syntax, type-check or evaluation error, or a wrong result type. */
export class ExprError extends Error {
  override readonly name = 'ExprError';
  /** Character offset into the expression source, when known. */
  readonly offset?: number;
  /** Machine-readable reason from the CEL library (e.g. `unknown_variable`), when known. */
  readonly code?: string;

  constructor(message: string, options: { offset?: number; code?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (options.offset !== undefined) this.offset = options.offset;
    if (options.code !== undefined) this.code = options.code;
  }
}
