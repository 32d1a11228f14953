// Syntax highlighting of the scenario language (../shared/spec/language.md):
// a line tokenizer giving [text, class] runs for the highlighted <pre>.

export type Tok = [text: string, cls: string];

const KEYWORDS = new Set(
  'scenario source kernels device secondary file on pages memory par background expect exists never and or not clean ok skipped violation disk'.split(' '),
);
const FLAG = /^(FOLL|PROT|MAP|MADV)_[A-Z0-9_]*$/;
const ERRNO = /^(E[A-Z0-9]{2,}|SIGSEGV|SIGBUS)$/;
const VIOLATION = /^(DMA_LOST|DMA_STALE|COW_LEAK|PRIVATE_WRITE_LEAK|UNTRACKED_DIRTY|DATA_LOSS|USE_AFTER_FREE|UNMOVABLE_PIN|SECURE_ACCESS|DOUBLE_RELEASE|MISMATCHED_RELEASE|ACCESS_AFTER_RELEASE)$/;

/** Tokenize one line. The concatenated texts always equal the line. */
export function tokenizeLine(line: string, prevLineHeader?: string): Tok[] {
  void prevLineHeader;
  const out: Tok[] = [];
  let i = 0;
  // `source TEXT` is free text up to a comment
  const src = /^(\s*)(source)(\b.*?)(?=\s*#|$)/.exec(line);
  const scen = /^(\s*)(scenario)(\s+)([^\s#]+)/.exec(line);
  if (scen) {
    if (scen[1]) out.push([scen[1], '']);
    out.push([scen[2]!, 'kw']);
    out.push([scen[3]!, '']);
    out.push([scen[4]!, 'sname']);
    i = scen[0].length;
  } else if (src) {
    if (src[1]) out.push([src[1], '']);
    out.push([src[2]!, 'kw']);
    out.push([src[3]!, 'str']);
    i = src[0].length;
  } else {
    // an actor label at the start of a step: `A:` / `dev:`
    const actor = /^(\s*)([A-Za-z_][A-Za-z0-9_]*)(\s*:)/.exec(line);
    if (actor && !KEYWORDS.has(actor[2]!)) {
      if (actor[1]) out.push([actor[1], '']);
      out.push([actor[2]!, 'actor']);
      out.push([actor[3]!, 'punct']);
      i = actor[0].length;
    }
  }
  while (i < line.length) {
    const rest = line.slice(i);
    let m: RegExpExecArray | null;
    if (rest[0] === '#') {
      out.push([rest, 'comment']);
      break;
    }
    if ((m = /^\s+/.exec(rest))) {
      out.push([m[0], '']);
    } else if ((m = /^'(?:[^'\\]|\\.)*'?/.exec(rest))) {
      out.push([m[0], 'char']);
    } else if ((m = /^(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?)(?:[+-][A-Za-z_][A-Za-z0-9_]*)*/.exec(rest))) {
      out.push([m[0], 'num']);
    } else if ((m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest))) {
      const w = m[0];
      const cls = KEYWORDS.has(w) ? 'kw' : FLAG.test(w) ? 'flag' : ERRNO.test(w) ? 'errno' : VIOLATION.test(w) ? 'vkind' : 'name';
      out.push([w, cls]);
    } else if ((m = /^(?:==|!=|<=|>=|\.\.|[<>=|,()[\]{}:])/.exec(rest))) {
      out.push([m[0], 'punct']);
    } else {
      out.push([rest[0]!, '']);
      m = null;
      i += 1;
      continue;
    }
    i += m[0].length;
  }
  return merge(out);
}

function merge(toks: Tok[]): Tok[] {
  const out: Tok[] = [];
  for (const t of toks) {
    if (!t[0]) continue;
    const last = out[out.length - 1];
    if (last && last[1] === t[1]) last[0] += t[0];
    else out.push([t[0], t[1]]);
  }
  return out;
}

/** Split tokens so that the character at 0-based column `col` is a token of its own (for the error mark). */
export function markColumn(toks: Tok[], col: number): { before: Tok[]; at: Tok | null; after: Tok[] } {
  const before: Tok[] = [];
  const after: Tok[] = [];
  let at: Tok | null = null;
  let pos = 0;
  for (const [text, cls] of toks) {
    const end = pos + text.length;
    if (end <= col) before.push([text, cls]);
    else if (pos > col) after.push([text, cls]);
    else {
      const k = col - pos;
      if (k > 0) before.push([text.slice(0, k), cls]);
      at = [text.slice(k, k + 1), cls];
      if (k + 1 < text.length) after.push([text.slice(k + 1), cls]);
    }
    pos = end;
  }
  return { before, at, after };
}
