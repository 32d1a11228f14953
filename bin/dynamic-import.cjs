'use strict';
// import() for the bundle, whose code cannot run import() itself: V8 code from a code cache (bin/pinlab.cjs)
// or from a startup snapshot (scripts/snapshot-prologue.cjs) has lost the script's dynamic-import hook in
// Node 20, but a file node compiles at run time has it. `pinlab real`, `pinlab serve` and `check --jobs`
// load the compiled tree beside the bundle (dist/src/*.js, ESM) and piscina this way. `dir`: dist/src.
const { pathToFileURL } = require('node:url');
const { join } = require('node:path');
module.exports = (dir) => (spec) => import(spec.startsWith('.') ? pathToFileURL(join(dir, spec)).href : spec);
