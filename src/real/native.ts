// The TypeScript end of the native runner's JSON-lines protocol
// (native/PROTOCOL.md): one child process per scenario, in its own temporary
// directory, one command at a time, with a timeout.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { Cmd } from './translate.js';
import { onCleanup } from './host_settings.js';

/** A reply of the runner. */
export interface Reply {
  seq: number;
  ok?: boolean;
  value?: number;
  errno?: string;
  signal?: string;
  error?: string;
}

/** Something that runs one scenario's commands: the host runner process, or a session in a guest. */
export interface Runner {
  send(cmd: Cmd, timeoutMs?: number): Promise<Reply>;
  close(): Promise<void>;
}

/** Where `npm install` builds the runner (scripts/build-native.mjs). */
export const RUNNER = fileURLToPath(new URL('../../../native/pinlab-real', import.meta.url));

export function runnerAvailable(): boolean {
  return existsSync(RUNNER);
}

export class NativeRunner implements Runner {
  private child: ChildProcessWithoutNullStreams;
  private lines: AsyncIterator<string>;
  private seq = 0;
  private stderr = '';

  constructor(workdir: string) {
    this.child = spawn(RUNNER, [workdir], { stdio: ['pipe', 'pipe', 'pipe'] });
    // if pinlab is stopped (SIGINT, SIGTERM, an error), the runner is told to stop too: it kills its actors
    // and removes its files itself (native/PROTOCOL.md), so their huge pages go back to the pool
    const off = onCleanup(() => {
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    });
    this.child.once('exit', off);
    this.child.stdin.on('error', () => {}); // a runner that died: the next reply says so
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  /** Send one command and wait for its reply (or time out). */
  async send(cmd: Cmd, timeoutMs = 40_000): Promise<Reply> {
    const seq = ++this.seq;
    this.child.stdin.write(JSON.stringify([seq, ...cmd]) + '\n');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Reply>((res) => {
      timer = setTimeout(() => res({ seq, error: `timeout after ${timeoutMs / 1000} s` }), timeoutMs);
    });
    const next = this.lines.next().then((r): Reply => {
      if (r.done) return { seq, error: `the runner exited${this.stderr ? `: ${this.stderr.trim()}` : ''}` };
      try {
        return JSON.parse(r.value) as Reply;
      } catch {
        return { seq, error: `unreadable reply: ${r.value}` };
      }
    });
    const reply = await Promise.race([next, timeout]);
    clearTimeout(timer);
    if (reply.error?.startsWith('timeout')) this.child.kill('SIGKILL');
    return reply;
  }

  /** Close stdin (the runner kills and reaps its actors and cleans up) and wait for it. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const done = new Promise<void>((res) => this.child.once('exit', () => res()));
    this.child.stdin.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(t);
  }
}
