/**
 * Loads the bundled CLI (dist/maint.cjs) with the V8 code cache that `npm run build` wrote
 * beside it (dist/maint.cjs.cache).
 *
 * Start-up is most of a short run, and compiling the bundle was a third of maint's share of it.
 * Node 20 caches no compiled code for ES modules (module.enableCompileCache came in Node 22), so
 * the bundle is CommonJS, compiled here through vm.Script, which takes V8's cached data.
 *
 * This launcher is CommonJS (bin/package.json says so): an ES module entry point makes Node set up
 * its module loader first, ~9 ms of every start, `maint --version` included.
 *
 * The cache is written by the build only, never at run time, and lives next to the code: whoever
 * can write it can already write the code. V8 checks only the source's length, so the cache
 * starts with a SHA-1 of the source it was made from and is used only when that matches. A cache
 * V8 rejects (another Node version, other V8 flags) only loses the time it would have saved.
 */
'use strict';
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

const BUNDLE = join(__dirname, '../dist/maint.cjs');
const CODE_CACHE = `${BUNDLE}.cache`;
const HASH_BYTES = 20;

/** The cache file: the SHA-1 of the source, then V8's data. */
const cacheFile = (sourceHash, data) => Buffer.concat([sourceHash, data]);

function readCache(sourceHash) {
  let file;
  try {
    file = readFileSync(CODE_CACHE);
  } catch {
    return undefined;
  }
  return file.subarray(0, HASH_BYTES).equals(sourceHash) ? file.subarray(HASH_BYTES) : undefined;
}

/**
 * Compiles and runs the bundle. `codeCache` says what became of the cache: 'used', 'rejected'
 * (V8 refused it) or 'missing' (none, or made from another build). `build` is the bundle's
 * SHA-1 in hex, which keys the parse cache.
 */
function loadCli() {
  const bytes = readFileSync(BUNDLE);
  const sourceHash = createHash('sha1').update(bytes).digest();
  const cachedData = readCache(sourceHash);
  // The same wrapper Node's CommonJS loader puts around a file.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${bytes.toString('utf8')}\n})`, {
    filename: BUNDLE,
    cachedData,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE));
  const codeCache = cachedData === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'used';
  return { main: module.exports.main, script, sourceHash, build: sourceHash.toString('hex'), codeCache };
}

module.exports = { BUNDLE, CODE_CACHE, cacheFile, loadCli };
