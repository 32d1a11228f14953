// Where `pinlab real --vm` keeps what it downloads and builds:
// $XDG_CACHE_HOME/pinlab/vm (default ~/.cache/pinlab/vm). Every artefact sits
// under a key naming what it was made from (package version, source hash), so a
// second run only boots. Files are written to a temporary name and renamed, so
// an interrupted run never leaves a half-written artefact under a valid name.

import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
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

/**
 * Run fn while holding the cache's lock (one pinlab process at a time updates
 * apt lists or writes artefacts). The lock file names its holder's pid; a lock
 * whose holder is gone is taken over.
 */
export async function withCacheLock<T>(fn: () => Promise<T>): Promise<T> {
  const path = join(cacheRoot(), 'lock');
  mkdirSync(cacheRoot(), { recursive: true });
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder = 0;
      try {
        holder = Number(readFileSync(path, 'utf8'));
      } catch {
        continue;
      }
      let alive = holder > 0;
      try {
        if (alive) process.kill(holder, 0);
      } catch {
        alive = false;
      }
      if (!alive) rmSync(path, { force: true });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}
