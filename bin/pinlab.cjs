#!/bin/sh
':' //; p=$0; [ -L "$p" ] && p=$(readlink -f -- "$p"); b=${p%/*}/../dist/src/pinlab.blob; [ -z "$PINLAB_NO_SNAPSHOT$NODE_OPTIONS" ] && [ -f "$b.node" ] && read -r id < "$b.node" && [ "$id" = "$(stat -L -c '%d %i %s %Y %Z' -- "$(command -v node)" 2>/dev/null)" ] && exec node --max-semi-space-size=2 --snapshot-blob "$b" "$0" "$@"; exec node --max-semi-space-size=2 "$0" "$@"
'use strict';
// (The first two lines are read by sh and by node alike: to node they are a string and a comment before
// 'use strict', which stays the file's directive. sh runs `:` and then exec's node with the start flags
// (bin/v8-flags.cjs), as `env -S` would, which BusyBox's env lacks, in one of two ways:
//   - from pinlab's startup snapshot, dist/src/pinlab.blob (scripts/snapshot-prologue.cjs), with this file
//     as argv[1], when the stamp beside it (pinlab.blob.node, scripts/snapshot.mjs) names the node on the
//     PATH: node then starts with the bundle loaded and its module set-up done, and runs nothing below;
//     $0 is resolved first when it is a symlink (node_modules/.bin/pinlab, as npx runs it);
//   - else, or with PINLAB_NO_SNAPSHOT or NODE_OPTIONS set (V8 flags there may change the flag hash V8 checks
//     the snapshot against; node would stop), this file, below.)
// pinlab's command: the bundled command line (dist/src/pinlab-bundle.cjs, scripts/build-cli.mjs)
// compiled with the V8 code cache made at build time, so a command starts without compiling
// the bundle. Without a usable cache it compiles as usual and tries to write one. V8 takes a cache
// only from a process started with the same flags, so there are two: one for the header's flags
// (bin/v8-flags.cjs says why pinlab starts with them) and one for none (a plain `node bin/pinlab.cjs`);
// node started with other flags (--inspect, --cpu-prof, ...) compiles without a cache and writes none.
// The flags set at run time below are in both alike.
const { readFileSync, renameSync, unlinkSync, writeFileSync } = require('node:fs');
const { Script } = require('node:vm');
const { createRequire, wrap } = require('node:module');
const { join } = require('node:path');
const { START_FLAGS, applyRuntimeFlags } = require('./v8-flags.cjs');
// PINLAB_V8_DEFAULTS=1: V8's own settings (with `node bin/pinlab.cjs`, which skips the header's start flags)
const v8Defaults = process.env.PINLAB_V8_DEFAULTS === '1';
if (!v8Defaults) applyRuntimeFlags();

const dir = join(__dirname, '..', 'dist', 'src');
const file = join(dir, 'pinlab-bundle.cjs');
const flags = process.execArgv.join(' ');
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
if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
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
const mod = { exports: {} };
script.runInThisContext()(mod.exports, createRequire(file), mod, file, dir);
