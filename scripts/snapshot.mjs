// pinlab's startup snapshot: dist/src/pinlab.blob, which bin/pinlab.cjs's header starts node from
// (scripts/snapshot-prologue.cjs says what is in it and what is done when a process starts from it).
//
// Made by this node, under the header's start flags (bin/v8-flags.cjs): V8 takes a snapshot only under the
// flags it was made with, and node only the snapshot of its own build (another stops node with exit 14).
// So the build leaves a stamp, which the header checks with sh's own `test`, starting no process (a `stat`
// cost ~4.5 ms of every command):
//   - pinlab.blob.node, a symbolic link to the node binary that made the blob (its real path): the header
//     takes the snapshot only if the first node on the PATH is that file (`-ef`: the same device and inode);
//   - the blob's modification time, set to that binary's to the nanosecond (`touch -r`): a binary replaced
//     at that path since (an upgrade: a new file, with its package's time) has another, and the header
//     takes the snapshot only if the node on the PATH is neither newer nor older than the blob.
// Otherwise it falls back to the code cache. Built in `dir`, where the bundle's relative paths hold (a
// process started from it sets them anew from where bin/pinlab.cjs is then); written aside and renamed into
// place, blob before stamp.

import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const prologue = join(dirname(fileURLToPath(import.meta.url)), 'snapshot-prologue.cjs');

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
    const node = realpathSync(process.execPath);
    // (touch, not utimes, which takes the time as a double and may round its nanoseconds)
    execFileSync('touch', ['-r', node, `${blob}.tmp`], { stdio: ['ignore', 'ignore', 'inherit'] });
    const want = statSync(node, { bigint: true }).mtimeNs;
    const got = statSync(`${blob}.tmp`, { bigint: true }).mtimeNs;
    if (got !== want) throw new Error(`${dir}'s file system does not keep the node binary's modification time (${want} ns), which the header checks: ${got} ns`);
    renameSync(`${blob}.tmp`, blob);
    symlinkSync(node, `${blob}.node`);
  } finally {
    rmSync(entry, { force: true });
    rmSync(`${blob}.tmp`, { force: true });
  }
}
