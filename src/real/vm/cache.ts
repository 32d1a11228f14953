// Where `pinlab real --vm` keeps what it downloads and builds:
// $XDG_CACHE_HOME/pinlab/vm (default ~/.cache/pinlab/vm). Every artefact sits
// under a key naming what it was made from (package version, source hash), so a
// second run only boots. Files are written to a temporary name and renamed, so
// an interrupted run never leaves a half-written artefact under a valid name.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'pinlab', 'vm');
}

export function sha256(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
}

/** Create `path` by running `make(tmp)` on a temporary path next to it, then renaming; no-op if it exists. */
export async function cached(path: string, make: (tmp: string) => Promise<void> | void): Promise<string> {
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    await make(tmp);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return path;
}

export function writeAtomic(path: string, data: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
