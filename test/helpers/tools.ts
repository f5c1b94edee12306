/**
 * Real tools the tests drive. Locally a missing tool skips its test with a loud message;
 * with CI=true a missing tool fails the suite.
 */
import { getCurrentTest } from 'vitest/suite';
import { findOnPath } from '../../src/exec/preflight.js';

/** CI=true (or any value but "false"/"0"), as CI services set it. */
export function inCI(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

/**
 * Whether every one of `names` is on PATH. When one is not: under CI this throws (the suite must
 * not go green without the tool); locally it warns, and inside a running test it marks that test
 * skipped, so `if (!requireTool(x)) return;` can never count as a pass. At collection time
 * (`describe.skipIf(!requireTool(x))`) it returns false.
 */
export function requireTool(...names: string[]): boolean {
  const missing = names.filter((name) => !findOnPath(name));
  if (missing.length === 0) return true;
  const list = missing.join(', ');
  if (inCI()) throw new Error(`${list} not installed: CI must install ${missing.length > 1 ? 'them' : 'it'} (.ci/run)`);
  const why = `${list} not installed; install ${missing.length > 1 ? 'them' : 'it'} to run this test`;
  console.warn(`\n*** SKIPPED: ${why} ***\n`);
  getCurrentTest()?.context.skip(why);
  return false;
}
