/**
 * Real tools the tests drive. Locally a missing tool skips its test with a loud message;
 * with CI=true a missing tool fails the suite.
 */
import { findOnPath } from '../../src/exec/preflight.js';

export function requireTool(name: string): boolean {
  if (findOnPath(name)) return true;
  if (process.env.CI) throw new Error(`${name} is not installed: CI must install it (.ci/run)`);
  console.warn(`\n*** SKIPPED: ${name} is not installed; install it to run this test ***\n`);
  return false;
}
