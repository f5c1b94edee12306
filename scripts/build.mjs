#!/usr/bin/env node
/**
 * `npm run build`: the CLI as one bundle, dist/maint.cjs, and V8's code cache for it
 * (typechecking is `npm run typecheck`).
 *
 * Start-up is most of a short run. One bundle instead of tsc's file per module because Node
 * resolves, reads and links every ES module file separately (~70 ms for maint's ~100 modules and
 * their dependencies). CommonJS because bin/load.js compiles it with a code cache, which Node 20
 * offers only for scripts. Each command's dynamic import() becomes a lazy initialiser inside the
 * bundle, so a command evaluates only the modules it uses.
 */
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
rmSync(resolve(root, 'dist'), { recursive: true, force: true });

await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/maint.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // package-root.ts reads __filename in the bundle; import.meta is what the sources use.
  define: { 'import.meta.url': 'undefined' },
  // cosmiconfig requires it only to load a TypeScript config file, which maint never looks for.
  external: ['typescript'],
  minifySyntax: true,
  minifyWhitespace: true,
  keepNames: false,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});

// The code cache holds what a typical run compiles; scripts/code-cache.mjs makes one and saves it.
const warm = spawnSync(process.execPath, [resolve(root, 'scripts/code-cache.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
if (warm.status !== 0) {
  console.error(`build: making the code cache failed (exit ${warm.status ?? warm.signal})`);
  process.exit(1);
}
