// The head of the file node builds pinlab's startup snapshot from (`node --snapshot-blob B --build-snapshot
// FILE`, scripts/build-cli.mjs): this, then the bundle (dist/src/pinlab-bundle.cjs). Node runs the file once
// at build time -- the bundle's module set-up: the scenario lexer and parser, commander's commands, the profiles --
// and saves the heap; bin/pinlab.cjs's header starts node from it, so a command starts with all that made
// and compiled (a --help in ~25 ms less than from the code cache on this machine, README).
//
// At build time node gives this file `require` for built-in modules only, and no `module`: the bundle's
// CommonJS export needs one. cli.ts then hands its main function to __pinlabDeferMain instead of running
// it; node runs it in each process started from the snapshot, after what the loader would have done:
//   - where pinlab is now (the header runs node with its own path, $0, as argv[1]): the snapshot holds the
//     paths of the tree it was built in, and a tree may be moved. Every use of the bundle's
//     import.meta.url (__pinlabMetaUrl, its banner) is inside a function, so setting it here is enough;
//   - V8's run-time flags (bin/v8-flags.cjs's RUNTIME_FLAGS, which scripts/snapshot.mjs puts in
//     __pinlabRuntimeFlags above this file), unless PINLAB_V8_DEFAULTS=1: set at build time they would change
//     the flag hash V8 checks the snapshot against;
//   - import() for the bundle (bin/dynamic-import.cjs, loaded on the first call), which code from a snapshot
//     cannot run itself, and the file `check --jobs`'s worker threads load (bin/check-worker.cjs: the bundle
//     from its code cache; a worker thread does not start from the snapshot).
'use strict';
var module = { exports: {} }, exports = module.exports;
globalThis.__pinlabDeferMain = (main, prepare) => {
  delete globalThis.__pinlabDeferMain;
  // what a command would otherwise make on first use and may be made now, reading nothing of the process:
  // the scenario lexer and parser (cli.ts passes parser.ts's buildParser)
  prepare();
  const fs = require('node:fs');
  const path = require('node:path');
  const url = require('node:url');
  const { createRequire } = require('node:module');
  const v8 = require('node:v8');
  v8.startupSnapshot.setDeserializeMainFunction(() => {
    let bin;
    try {
      bin = fs.realpathSync(process.argv[1] ?? '');
    } catch {
      process.stderr.write(`pinlab: this snapshot starts through bin/pinlab.cjs (node --snapshot-blob B bin/pinlab.cjs ARGS), not '${process.argv[1] ?? ''}'\n`);
      process.exit(2);
    }
    const dir = path.join(path.dirname(bin), '..', 'dist', 'src');
    __pinlabMetaUrl = url.pathToFileURL(path.join(dir, 'pinlab-bundle.cjs')).href;
    if (process.env.PINLAB_V8_DEFAULTS !== '1') for (const f of __pinlabRuntimeFlags) v8.setFlagsFromString(f);
    let load;
    globalThis.__pinlabImport = (spec) => (load ??= createRequire(bin)('./dynamic-import.cjs')(dir))(spec);
    globalThis.__pinlabCheckWorker = url.pathToFileURL(path.join(path.dirname(bin), 'check-worker.cjs')).href;
    main();
  });
};
