// pinlab's startup snapshot: dist/src/pinlab.blob, which bin/pinlab.cjs's header starts node from
// (scripts/snapshot-prologue.cjs says what is in it and what is done when a process starts from it).
//
// Made by this node, under the header's start flags (bin/v8-flags.cjs): V8 takes a snapshot only under the
// flags it was made with, and node only the snapshot of its own build (another stops node with exit 14).
// So beside it goes a stamp, pinlab.blob.node: the node binary as `stat -L -c '%d %i %s %Y %Z'` prints it
// (device, inode, size, mtime, ctime), which the header compares with the node on the PATH; a node
// upgraded or replaced since (a new ctime, even when a package keeps the old mtime) falls back to the
// code cache. Built in `dir`, where the bundle's relative paths hold (a process started from it sets them
// anew from where bin/pinlab.cjs is then); written aside and renamed into place, blob before stamp.

import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const prologue = join(dirname(fileURLToPath(import.meta.url)), 'snapshot-prologue.cjs');

/** The stamp of the node binary at `path`, as the header's `stat -L -c '%d %i %s %Y %Z'` prints it. */
export function nodeStamp(path) {
  const st = statSync(realpathSync(path));
  return `${st.dev} ${st.ino} ${st.size} ${Math.floor(st.mtimeMs / 1000)} ${Math.floor(st.ctimeMs / 1000)}`;
}

/**
 * Build `dir`/pinlab.blob (and its stamp) from the bundle's text; `dir` is the bundle's directory. `startFlags`:
 * node's (bin/v8-flags.cjs START_FLAGS); `runtimeFlags`: set in each process started from it (RUNTIME_FLAGS).
 */
export function buildSnapshot(dir, bundleText, startFlags, runtimeFlags) {
  const blob = join(dir, 'pinlab.blob');
  const entry = join(dir, 'pinlab-snapshot.cjs');
  for (const f of [blob, `${blob}.node`]) rmSync(f, { force: true });
  // (after the prologue's 'use strict', which must stay the file's first statement)
  const text = readFileSync(prologue, 'utf8').replace(/^'use strict';$/m, `$&\nvar __pinlabRuntimeFlags = ${JSON.stringify(runtimeFlags)};`);
  if (!text.includes('var __pinlabRuntimeFlags')) throw new Error(`${prologue}: no 'use strict' line`);
  writeFileSync(entry, text + '\n' + bundleText);
  try {
    // (--no-warnings: node warns that child_process and module, which commander and the bundle load, are
    // "not yet fully verified" in snapshots; test/snapshot.test.ts holds the commands to the same answers)
    execFileSync(process.execPath, [...startFlags, '--no-warnings', '--snapshot-blob', `${blob}.tmp`, '--build-snapshot', entry], { stdio: ['ignore', 'ignore', 'inherit'] });
    renameSync(`${blob}.tmp`, blob);
    writeFileSync(`${blob}.node`, nodeStamp(process.execPath) + '\n');
  } finally {
    rmSync(entry, { force: true });
    rmSync(`${blob}.tmp`, { force: true });
  }
}
