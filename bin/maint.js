#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` through `prepare`).
'use strict';
const { loadCli } = require('./load.js');

const { main, codeCache, build } = loadCli();
// import() works here, in an ordinary module, and not in code from the cache (src/import-module.ts).
main(process.argv, { codeCache, build, importModule: (specifier) => import(specifier) });
