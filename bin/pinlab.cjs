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
//   - else, or with PINLAB_NO_SNAPSHOT or NODE_OPTIONS set to anything non-empty (V8 flags there may change the flag hash V8 checks
//     the snapshot against; node would stop), this file, below.)
// pinlab's command: the bundled command line, loaded from its code cache (bin/load-bundle.cjs) and run.
require('./load-bundle.cjs').loadBundle(true);
