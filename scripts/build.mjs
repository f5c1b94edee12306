#!/usr/bin/env node
/**
 * `npm run build`: the CLI as a bundle in dist/ (typechecking is `npm run typecheck`).
 *
 * One bundle instead of tsc's file-per-module output because start-up is most of a short run:
 * Node resolves, reads and links every ESM file separately, which cost ~70 ms for maint's
 * ~100 modules plus its dependencies. Each command's dynamic import stays a lazy chunk, so
 * `maint --version` loads commander and nothing else.
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
rmSync(resolve(root, 'dist'), { recursive: true, force: true });

await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  outdir: 'dist',
  outbase: 'src',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Dependencies written as CommonJS (cosmiconfig and its own) call require() for Node's
  // built-ins, which an ES module bundle has to provide.
  banner: { js: "import { createRequire as __maintRequire } from 'node:module'; const require = __maintRequire(import.meta.url);" },
  // cosmiconfig requires it only to load a TypeScript config file, which maint never looks for.
  external: ['typescript'],
  minifySyntax: true,
  minifyWhitespace: true,
  keepNames: false,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});
