/**
 * Where maint's own files are (package.json, bin/, runbooks/, schema/). The same code runs from
 * src/ (tests) and from the bundle in dist/, at different depths, so the root is found by walking
 * up from this module to the nearest package.json rather than by a fixed relative path.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return join(from, '..'); // not in a package: dist/'s parent
  }
}

// The bundle is CommonJS and knows its file as __filename; the sources run as ES modules.
const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);

export const PACKAGE_ROOT = findRoot(dirname(here));

/** A path inside maint's package. */
export const packagePath = (...parts: string[]): string => join(PACKAGE_ROOT, ...parts);
