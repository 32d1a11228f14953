// Tokens of the scenario language (chevrotain 11). Newlines are tokens: one
// statement per line. Keywords are also Identifiers (token categories), so a
// result or actor may be called `file` or `on` where the grammar allows a name.
//
// Two context-sensitive tokens use custom matchers that look at the previous
// token: the free text after `source` and the scenario name after `scenario`
// (names like `ro-pin-after-fork` contain dashes).

import { createToken, Lexer, type IToken, type TokenType, type CustomPatternMatcherFunc } from 'chevrotain';

export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/ });

function kw(word: string): TokenType {
  return createToken({
    name: 'Kw_' + word,
    pattern: new RegExp(word),
    longer_alt: Identifier,
    categories: [Identifier],
  });
}

export const Scenario = kw('scenario');
export const Source = kw('source');
export const Kernels = kw('kernels');
export const File = kw('file');
export const On = kw('on');
export const Pages = kw('pages');
export const Device = kw('device');
export const Secondary = kw('secondary');
export const Memory = kw('memory');
export const Of = kw('of');
export const Background = kw('background');
export const Par = kw('par');
export const Expect = kw('expect');
export const Exists = kw('exists');
export const Never = kw('never');
export const And = kw('and');
export const Or = kw('or');
export const Not = kw('not');
export const All = kw('all');
export const Clean = kw('clean');
export const Ok = kw('ok');
export const Skipped = kw('skipped');
export const Violation = kw('violation');
export const Disk = kw('disk');

export const KEYWORDS: TokenType[] = [
  Scenario, Source, Kernels, File, On, Pages, Device, Secondary, Memory, Of, Background, Par,
  Expect, Exists, Never, And, Or, Not, All, Clean, Ok, Skipped, Violation, Disk,
];

/** Words that may start a line (for did-you-mean on a misspelt header or clause). */
export const LINE_KEYWORDS = ['scenario', 'source', 'kernels', 'file', 'device', 'secondary', 'memory', 'background', 'par', 'expect', 'exists', 'never'];

export const Newline = createToken({ name: 'Newline', pattern: /\r\n|\r|\n/, line_breaks: true });
export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\f\v\u00a0\ufeff]+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: 'Comment', pattern: /#[^\r\n]*/, group: Lexer.SKIPPED });

function atLineStart(tokens: IToken[], kwType: TokenType): boolean {
  const n = tokens.length;
  if (n === 0 || tokens[n - 1]!.tokenType !== kwType) return false;
  return n === 1 || tokens[n - 2]!.tokenType === Newline;
}

/**
 * The start-character hint of a token that may start with anything. Chevrotain's first-character
 * optimisation looks a code unit up by itself below 256 and by its bucket of 255 code units above
 * (charCodeToOptimizedIndex in chevrotain's lexer.js; the last bucket is 0xffff alone), so a hint
 * needs only one code unit of each bucket: every code unit below 256, one in 128 above and 0xffff,
 * 767 entries rather than all 65,536 (an array of half a megabyte in every process and in the
 * startup snapshot). test/parser.test.ts lexes a source line starting with each of the 65,536.
 */
const ANY_CHAR: number[] = [...Array.from({ length: 256 }, (_, i) => i), ...Array.from({ length: 510 }, (_, i) => 256 + i * 128), 0xffff];

const matchSourceText: CustomPatternMatcherFunc = (text, offset, tokens) => {
  if (!atLineStart(tokens, Source)) return null;
  const c = text[offset];
  if (c === undefined || c === ':' || /\s/.test(c)) return null;
  const re = /[^#\r\n]*/y;
  re.lastIndex = offset;
  const m = re.exec(text);
  if (!m) return null;
  const s = m[0].replace(/\s+$/, '');
  return s.length > 0 ? ([s] as unknown as RegExpExecArray) : null;
};

/** The free text of a `source` line, up to a comment or the end of the line. */
export const SourceText = createToken({
  name: 'SourceText',
  pattern: { exec: matchSourceText },
  line_breaks: false,
  // any character may start it: the hint keeps the lexer's first-character optimization on (linear, fast lexing)
  start_chars_hint: ANY_CHAR,
});

const matchScenarioName: CustomPatternMatcherFunc = (text, offset, tokens) => {
  if (!atLineStart(tokens, Scenario)) return null;
  const re = /[A-Za-z0-9_][A-Za-z0-9_.\-]*/y;
  re.lastIndex = offset;
  const m = re.exec(text);
  return m ? ([m[0]] as unknown as RegExpExecArray) : null;
};

/** `ro-pin-after-fork`: a name that may contain dashes and dots. */
export const ScenarioName = createToken({
  name: 'ScenarioName',
  pattern: { exec: matchScenarioName },
  line_breaks: false,
  start_chars_hint: [...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz'],
});

/**
 * The index of the first token of the line that tokens[n-1] is on. Remembered between calls on the
 * same token array, so the lexer stays linear on long lines (a line of ')x1)x1...' would
 * otherwise walk back to the start of the line at every ')').
 */
let lineStartMemo: { tokens: IToken[]; scanned: number; start: number } | undefined;
function lineStartOf(tokens: IToken[]): number {
  let m = lineStartMemo;
  if (!m || m.tokens !== tokens || m.scanned > tokens.length) m = lineStartMemo = { tokens, scanned: 0, start: 0 };
  for (; m.scanned < tokens.length; m.scanned++) if (tokens[m.scanned]!.tokenType === Newline) m.start = m.scanned + 1;
  return m.start;
}

const matchTimes: CustomPatternMatcherFunc = (text, offset, tokens) => {
  const n = tokens.length;
  if (n === 0 || tokens[n - 1]!.tokenType !== RParen) return null;
  const re = /x\d+(?![A-Za-z0-9_])/y;
  re.lastIndex = offset;
  const m = re.exec(text);
  if (!m) return null;
  const first = tokens[lineStartOf(tokens)];
  if (!first || first.tokenType !== Background) return null;
  return [m[0]] as unknown as RegExpExecArray;
};

/** `x2` after a background event: how many times it may fire. */
export const Times = createToken({ name: 'Times', pattern: { exec: matchTimes }, line_breaks: false, start_chars_hint: ['x'] });

/** `5.9`, `6.2+upm_v10+restricted_aops`, `5.9-fork_early_cow_pinned` (not the dots of `5.9..5.18`). */
export const ProfileTok = createToken({
  name: 'Profile',
  pattern: /\d+(?:\.\d+)+(?:[+-][A-Za-z_][A-Za-z0-9_]*)*/,
});
export const Int = createToken({ name: 'Int', pattern: /0[xX][0-9a-fA-F]+|\d+/ });
export const CharLit = createToken({ name: 'CharLit', pattern: /'(?:[^'\\\r\n]|\\[^\r\n])'/ });
/** Anything else starting with a quote: reported as a lexical error. */
export const BadCharLit = createToken({ name: 'BadCharLit', pattern: /'[^'\r\n#]*'?/ });

export const DotDot = createToken({ name: 'DotDot', pattern: /\.\./ });
export const EqEq = createToken({ name: 'EqEq', pattern: /==/ });
export const NotEq = createToken({ name: 'NotEq', pattern: /!=/ });
export const Le = createToken({ name: 'Le', pattern: /<=/ });
export const Ge = createToken({ name: 'Ge', pattern: />=/ });
export const Lt = createToken({ name: 'Lt', pattern: /</ });
export const Gt = createToken({ name: 'Gt', pattern: />/ });
export const Eq = createToken({ name: 'Eq', pattern: /=/ });
export const Colon = createToken({ name: 'Colon', pattern: /:/ });
export const Comma = createToken({ name: 'Comma', pattern: /,/ });
export const Pipe = createToken({ name: 'Pipe', pattern: /\|/ });
export const Plus = createToken({ name: 'Plus', pattern: /\+/ });
export const LParen = createToken({ name: 'LParen', pattern: /\(/ });
export const RParen = createToken({ name: 'RParen', pattern: /\)/ });
export const LBracket = createToken({ name: 'LBracket', pattern: /\[/ });
export const RBracket = createToken({ name: 'RBracket', pattern: /\]/ });
export const LBrace = createToken({ name: 'LBrace', pattern: /\{/ });
export const RBrace = createToken({ name: 'RBrace', pattern: /\}/ });

export const ALL_TOKENS: TokenType[] = [
  // context-sensitive free text first: it must win over everything on its line
  SourceText,
  ScenarioName,
  Times,
  WhiteSpace,
  Comment,
  Newline,
  ...KEYWORDS,
  Identifier,
  ProfileTok,
  Int,
  CharLit,
  BadCharLit,
  DotDot,
  EqEq,
  NotEq,
  Le,
  Ge,
  Lt,
  Gt,
  Eq,
  Colon,
  Comma,
  Pipe,
  Plus,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
];

/** `true` in the bundle only (scripts/build-cli.mjs defines it); undeclared in the compiled tree. */
declare const __PINLAB_BUNDLE__: boolean | undefined;
/**
 * Whether chevrotain skips its validations of the token patterns and the grammar (tens of ms at
 * the first parse): in the command line's bundle only. They find mistakes in the grammar, not in
 * scenarios, so they run where the grammar is developed: the compiled tree, which the tests use
 * (test/grammar-validations.test.ts checks that they do there).
 */
export const skipChevrotainValidations: boolean = typeof __PINLAB_BUNDLE__ !== 'undefined' && __PINLAB_BUNDLE__ === true;

/**
 * The lexer, built on first use: chevrotain analyses every token pattern when a Lexer is made
 * (tens of ms), which commands that read no scenario (`--help`, `profiles`) should not pay.
 */
let lexer: Lexer | undefined;
export function pinLexer(): Lexer {
  return (lexer ??= new Lexer(ALL_TOKENS, {
    positionTracking: 'full',
    ensureOptimizations: true,
    skipValidations: skipChevrotainValidations,
  }));
}

/** How a token type reads in an "expected ..." message. */
export function describeTokenType(t: TokenType): string {
  switch (t) {
    case Identifier:
      return 'a name';
    case SourceText:
      return 'source text';
    case ScenarioName:
      return 'a scenario name';
    case Times:
      return 'a count like x2';
    case ProfileTok:
      return 'a kernel profile like 5.9';
    case Int:
      return 'a number';
    case CharLit:
      return "a character like 'a'";
    case Newline:
      return 'end of line';
    case DotDot:
      return "'..'";
    case EqEq:
      return "'=='";
    case NotEq:
      return "'!='";
    case Le:
      return "'<='";
    case Ge:
      return "'>='";
    case Lt:
      return "'<'";
    case Gt:
      return "'>'";
    case Eq:
      return "'='";
    case Colon:
      return "':'";
    case Comma:
      return "','";
    case Plus:
      return "'+'";
    case Pipe:
      return "'|'";
    case LParen:
      return "'('";
    case RParen:
      return "')'";
    case LBracket:
      return "'['";
    case RBracket:
      return "']'";
    case LBrace:
      return "'{'";
    case RBrace:
      return "'}'";
  }
  if (t.name.startsWith('Kw_')) return `'${t.name.slice(3)}'`;
  if (t.name === 'EOF') return 'end of file';
  return t.name;
}

/** How a found token reads in an error message. */
export function describeToken(tok: IToken): string {
  if (tok.tokenType === Newline) return 'end of line';
  if (tok.tokenType.name === 'EOF' || tok.image === '') return 'end of file';
  return `'${tok.image}'`;
}
