// Positioned errors of the scenario language (lexer, parser and checker) and
// the did-you-mean helper shared by all of them.

import { distance } from 'fastest-levenshtein';
import { readFileSync } from 'node:fs';

export class PinlabSyntaxError extends Error {
  override name = 'PinlabSyntaxError';
  readonly file: string;
  /** 1-based */
  readonly line: number;
  /** 1-based */
  readonly col: number;
  override readonly message: string;
  /** what would have been accepted at this point, for tools */
  readonly expected?: string[];

  constructor(file: string, line: number, col: number, message: string, expected?: string[]) {
    super(message);
    this.file = file;
    this.line = line;
    this.col = col;
    this.message = message;
    if (expected) this.expected = expected;
  }

  /**
   * `FILE:LINE:COL: error: MESSAGE`, the source line and a caret under the
   * column. No stack trace.
   */
  format(lines: string[]): string {
    const head = `${this.file}:${this.line}:${this.col}: error: ${this.message}`;
    const src = lines[this.line - 1];
    if (src === undefined) return head;
    const shown = src.replace(/\r$/, '');
    // keep tabs in the caret prefix so the caret lines up in a terminal
    let pad = '';
    for (let i = 0; i < this.col - 1; i++) pad += shown[i] === '\t' ? '\t' : ' ';
    return `${head}\n  ${shown}\n  ${pad}^`;
  }

  /** format() with the line read from the file itself (the message alone when it cannot be read). */
  formatFromFile(): string {
    let lines: string[] = [];
    try {
      lines = readFileSync(this.file, 'utf8').split(/\r?\n/);
    } catch {
      /* the message alone */
    }
    return this.format(lines);
  }
}

/**
 * The candidate closest to `word` (case-insensitive edit distance), if it is
 * close enough to be a plausible typo; undefined otherwise.
 */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  // no name pinlab knows is this long: not a typo, and the edit distance would cost length x candidates
  if (word.length > 64) return undefined;
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    if (c === word) continue;
    const cl = c.toLowerCase();
    let d = distance(w, cl);
    // a missing or extra suffix (`unpin_user_pages_dirty`) is a common slip
    if (w.length >= 4 && (cl.startsWith(w) || w.startsWith(cl))) d = Math.min(d, 2);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(word.length / 3));
  return bestD <= limit ? best : undefined;
}

/** `; did you mean 'X'?` or the empty string. */
export function suggestion(word: string, candidates: readonly string[]): string {
  const s = didYouMean(word, candidates);
  return s === undefined ? '' : `; did you mean '${s}'?`;
}
