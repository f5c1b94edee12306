/**
 * The files cosmiconfig would read, checked before it reads them. cosmiconfig reads a config file
 * whole with fs.readFile, whatever it is: a FIFO named `.maintrc` (or given to --config) hung
 * maint forever and /dev/zero exhausted memory. Each candidate must be a plain file of at most
 * 1 MiB; one that does not exist, or a folder (cosmiconfig skips those), is no problem.
 */
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MAX_INPUT_BYTES, notPlainFile, tooLargeFile } from '../runbook/plain-file.js';

/** cosmiconfig's own settings files, looked for in the process's working folder only. */
const META_PLACES = ['package.json', 'package.yaml', '.config/config.json', '.config/config.yaml', '.config/config.yml', '.config/config.js', '.config/config.ts', '.config/config.cjs', '.config/config.mjs'];

/** Why cosmiconfig must not read `file`, or undefined. `explicit`: named by --config, so a folder is refused too. */
export function configFileProblem(file: string, explicit = false): string | undefined {
  let st;
  try {
    st = statSync(file);
  } catch {
    return undefined; // Missing or unreadable: cosmiconfig says so (or skips it while searching).
  }
  if (st.isDirectory() && !explicit) return undefined;
  return notPlainFile(st) ?? (st.size > MAX_INPUT_BYTES ? tooLargeFile(st.size) : undefined);
}

/**
 * The problems, as `file: why`, of every file a project search from `from` could read: each
 * search place in each folder up to the first one holding package.json or package.yaml (where
 * cosmiconfig's "project" search stops), and cosmiconfig's settings files in `processCwd`.
 */
export function searchedConfigProblems(from: string, places: readonly string[], processCwd: string): string[] {
  const out: string[] = [];
  const check = (file: string) => {
    const problem = configFileProblem(file);
    if (problem && !out.some((o) => o.startsWith(`${file}: `))) out.push(`${file}: ${problem}`);
  };
  for (const place of META_PLACES) check(join(processCwd, place));
  for (let dir = from; ; dir = dirname(dir)) {
    for (const place of places) check(join(dir, place));
    const exists = (name: string) => {
      try {
        statSync(join(dir, name));
        return true;
      } catch {
        return false;
      }
    };
    if (exists('package.json') || exists('package.yaml') || dirname(dir) === dir) break;
  }
  return out;
}
