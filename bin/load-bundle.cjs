'use strict';
// Load pinlab's bundled command line (dist/src/pinlab-bundle.cjs, scripts/build-cli.mjs) compiled with the
// V8 code cache made at build time, so that it starts without compiling the bundle; for bin/pinlab.cjs (the
// command, when it does not start from the startup snapshot) and bin/check-worker.cjs (a `check --jobs`
// worker thread). Without a usable cache it compiles as usual and the command tries to write one. V8 takes
// a cache only from a process started with the same flags, so there are two: one for the header's flags
// (bin/v8-flags.cjs says why pinlab starts with them) and one for none (a plain `node bin/pinlab.cjs`); node
// started with other flags (--inspect, --cpu-prof, ...) compiles without a cache and writes none. The flags
// set at run time below are in both alike.
const { readFileSync, renameSync, unlinkSync, writeFileSync } = require('node:fs');
const { Script } = require('node:vm');
const { createRequire, wrap } = require('node:module');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');
const { START_FLAGS, applyRuntimeFlags } = require('./v8-flags.cjs');

/** node's flags, without --snapshot-blob (a worker thread of a process started from the snapshot has it, and no snapshot) */
const nodeFlags = (argv) => {
  const out = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--snapshot-blob') i++;
    else if (!argv[i].startsWith('--snapshot-blob=')) out.push(argv[i]);
  }
  return out.join(' ');
};

/**
 * Load the bundle and return its exports. `runMain`: run the command line on process.argv (bin/pinlab.cjs);
 * without, only load it for its functions (a worker thread), and write no cache.
 */
exports.loadBundle = (runMain) => {
  // PINLAB_V8_DEFAULTS=1: V8's own settings (with `node bin/pinlab.cjs`, which skips the header's start flags)
  const v8Defaults = process.env.PINLAB_V8_DEFAULTS === '1';
  if (!v8Defaults) applyRuntimeFlags();
  const dir = join(__dirname, '..', 'dist', 'src');
  const file = join(dir, 'pinlab-bundle.cjs');
  const flags = nodeFlags(process.execArgv);
  // (NODE_OPTIONS flags are not in execArgv: with any, no cache either; nor under V8's defaults, which the caches were not made with)
  const cacheFile = process.env.NODE_OPTIONS || v8Defaults ? null : flags === START_FLAGS.join(' ') ? `${file}.start-flags.v8cache` : flags === '' ? `${file}.v8cache` : null;
  let cachedData;
  try {
    cachedData = cacheFile ? readFileSync(cacheFile) : undefined;
  } catch {
    cachedData = undefined;
  }
  const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
  // `pinlab real`, `pinlab serve` and `check --jobs` load the compiled tree beside the bundle (or
  // piscina) on demand; code from a V8 cache cannot run import() itself, so it asks this
  globalThis.__pinlabImport = require('./dynamic-import.cjs')(dir);
  // `check --jobs`'s worker threads load the bundle too, not the compiled tree (src/cli.ts)
  globalThis.__pinlabCheckWorker = pathToFileURL(join(__dirname, 'check-worker.cjs')).href;
  if (runMain && cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
    process.once('exit', () => {
      // written aside and renamed into place: two commands finishing together never leave a mixed file
      const tmp = `${cacheFile}.${process.pid}`;
      try {
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch {
        // a read-only install: compile every time, as without a cache
        try {
          unlinkSync(tmp);
        } catch {
          // nothing was written
        }
      }
    });
  }
  // (the bundle's cli.ts runs its main function now, or hands it to __pinlabDeferMain)
  if (!runMain) globalThis.__pinlabDeferMain = () => {};
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, createRequire(file), mod, file, dir);
  delete globalThis.__pinlabDeferMain;
  return mod.exports;
};
