'use strict';
// A worker thread of the bundled command's `check --jobs N` (piscina): the bundle's runCheckTask
// (src/worker.ts), loaded as bin/pinlab.cjs loads it, from the code cache, and not the compiled tree's ~700
// module files, which took ~0.4 s a thread before it ran anything.
module.exports = require('./load-bundle.cjs').loadBundle(false).runCheckTask;
