// Where `pinlab real --vm` keeps what it downloads and builds:
// $XDG_CACHE_HOME/pinlab/vm (default ~/.cache/pinlab/vm). Every artefact sits
// under a key naming what it was made from (package version, source hash), so a
// second run only boots. Files are written to a temporary name and renamed, so
// an interrupted run never leaves a half-written artefact under a valid name.

import { AsyncLocalStorage } from 'node:async_hooks';
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
    try {
      renameSync(tmp, path);
    } catch (e) {
      // another process made the same artefact meanwhile (same key, same content): keep theirs
      const code = (e as NodeJS.ErrnoException).code;
      if (!((code === 'ENOTEMPTY' || code === 'EEXIST') && existsSync(path))) throw e;
    }
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
 * whose holder is gone is taken over. Re-entrant within one async call chain
 * (a test kernel build takes it, and so does a guest start that needs one).
 * onWait is told once who holds it when this call has to wait.
 */
const lockHeld = new AsyncLocalStorage<boolean>();
export async function withCacheLock<T>(fn: () => Promise<T>, onWait?: (holder: number) => void): Promise<T> {
  let told = false;
  // held by this async call chain already (not merely by this process: two guests of one run still take turns)
  if (lockHeld.getStore()) return fn();
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
      else if (!told && holder !== process.pid && onWait) {
        told = true;
        onWait(holder);
      }
      if (alive) await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await lockHeld.run(true, fn);
  } finally {
    rmSync(path, { force: true });
  }
}
