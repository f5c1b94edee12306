#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` through `prepare`).
import { loadCli } from './load.js';

const { main, codeCache, sourceHash } = loadCli();
// import() works here, in an ordinary module, and not in code from the cache (src/import-module.ts).
main(process.argv, { codeCache, build: sourceHash.toString('hex'), importModule: (specifier) => import(specifier) });
