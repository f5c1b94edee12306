/**
 * `maint init [DIR]`: a config and an example runbook to start from. Existing files are kept
 * unless --force, so running it again in a project is safe.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MaintError } from '../errors.js';
import { ensureDir, explainErrno, PathError } from '../../fs/ensure-dir.js';
import { packagePath } from '../../package-root.js';
import { CONFIG_FILE, CONFIG_TEXT, EXAMPLE_FILE, exampleRunbook } from './init-files.js';

/** The JSON Schema shipped in maint's package. */
export const SHIPPED_SCHEMA = packagePath('schema', 'runbook.schema.json');

/**
 * The `$schema` reference from `runbooksDir`. Relative when maint sits inside the project (a
 * node_modules install, or maint's own checkout), so the reference travels with the project;
 * otherwise a file:// URL, since a relative path climbing out of the project breaks as soon as
 * the project is cloned elsewhere, and it also covers another drive on Windows.
 */
export function schemaRef(projectDir: string, runbooksDir: string, schemaFile: string = SHIPPED_SCHEMA): string {
  const fromProject = relative(projectDir, schemaFile);
  if (!fromProject.startsWith('..') && !isAbsolute(fromProject)) return relative(runbooksDir, schemaFile).split('\\').join('/');
  return pathToFileURL(schemaFile).href;
}

type Outcome = 'created' | 'overwritten' | 'kept';

export async function initCommand(dirArg: string | undefined, flags: { force?: boolean }): Promise<number> {
  const dir = resolve(dirArg ?? '.');
  const files: [string, string][] = [
    [CONFIG_FILE, CONFIG_TEXT],
    [EXAMPLE_FILE, exampleRunbook(schemaRef(dir, join(dir, dirname(EXAMPLE_FILE))))],
  ];
  const out: string[] = [`maint init in ${dir}`];
  for (const [name, text] of files) {
    const outcome = write(join(dir, name), text, flags.force ?? false);
    out.push(`  ${outcome.padEnd(11)} ${name}${outcome === 'kept' ? ' (it exists; --force overwrites it)' : ''}`);
  }
  const cd = dir === process.cwd() ? [] : [`  cd ${relative(process.cwd(), dir)}`];
  out.push(
    '',
    'Next:',
    ...cd,
    '  maint validate --strict   # check the runbooks and the pieces they include',
    '  maint plan example        # every command a run would execute; runs nothing',
    '  maint run example         # run it (set its vars first, e.g. --var health_url=…)',
  );
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

/** Writes `file`; without `force` an existing file is kept (the 'wx' flag, so nothing races past the check). */
function write(file: string, text: string, force: boolean): Outcome {
  try {
    ensureDir(dirname(file), 0o755);
    const existed = force && existsSync(file);
    writeFileSync(file, text, { flag: force ? 'w' : 'wx' });
    return existed ? 'overwritten' : 'created';
  } catch (err) {
    if (err instanceof PathError) throw new MaintError(`could not write ${file}: ${err.message}`, 1);
    const { code, message } = err as NodeJS.ErrnoException;
    // EEXIST from the write itself: the 'wx' flag found the file there.
    if (code === 'EEXIST' && !force && existsSync(file) && !statSync(file).isDirectory()) return 'kept';
    throw new MaintError(`could not write ${file}: ${code ? explainErrno(code, file) : message}`, 1);
  }
}
