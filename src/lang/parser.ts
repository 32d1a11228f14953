// The scenario language parser (spec v1): chevrotain 11 EmbeddedActionsParser
// that builds the AST of ast.ts directly. parseScenario() throws a
// PinlabSyntaxError at the first lexical, syntactic or structural error.

import {
  EmbeddedActionsParser,
  createTokenInstance,
  tokenMatcher,
  type IToken,
  type TokenType,
  type IRecognitionException,
  type IParserErrorMessageProvider,
} from 'chevrotain';
import type {
  Arg,
  BackgroundEvent,
  Block,
  Call,
  Clause,
  ClauseKind,
  FileDecl,
  FsType,
  Name,
  Operand,
  Par,
  Pos,
  Pred,
  ProfileRef,
  Scenario,
  Step,
  Stmt,
  ValueLit,
  VersionItem,
  VersionSet,
  Zone,
} from './ast.js';
import { ZONES } from './ast.js';
import { FS_TYPES, LIMITS } from './ops.js';
import { PinlabSyntaxError, didYouMean, suggestion } from './errors.js';
import * as T from './lexer.js';

// ---------------------------------------------------------------------------
// error messages

function expectedList(types: TokenType[]): string[] {
  const out: string[] = [];
  for (const t of types) {
    // a keyword is also a name: say "a name" once instead of listing keywords
    const d = T.describeTokenType(t);
    if (!out.includes(d)) out.push(d);
  }
  return out;
}

function joinOr(xs: string[]): string {
  if (xs.length <= 1) return xs[0] ?? 'nothing';
  return xs.slice(0, -1).join(', ') + ' or ' + xs[xs.length - 1];
}

/** Builds "expected A or B but found 'x'" from chevrotain's error data (fallback when content assist fails). */
const messageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual }) {
    return `expected ${T.describeTokenType(expected)} but found ${T.describeToken(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `expected a statement but found ${T.describeToken(firstRedundant)}`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual }) {
    const firsts = expectedPathsPerAlt.flatMap((alt) => alt.map((path) => path[0]!)).filter(Boolean);
    return `expected ${joinOr(expectedList(firsts))} but found ${T.describeToken(actual[0]!)}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual }) {
    const firsts = expectedIterationPaths.map((p) => p[0]!).filter(Boolean);
    return `expected ${joinOr(expectedList(firsts))} but found ${T.describeToken(actual[0]!)}`;
  },
};

// ---------------------------------------------------------------------------
// AST helpers

function posOf(tok: IToken): Pos {
  return { line: tok.startLine ?? 1, col: tok.startColumn ?? 1 };
}

function nameOf(tok: IToken): Name {
  return { name: tok.image, pos: posOf(tok) };
}

function intOf(tok: IToken): number {
  return Number(tok.image);
}

function charOf(tok: IToken): string {
  const inner = tok.image.slice(1, -1);
  return inner.startsWith('\\') ? inner.slice(1) : inner;
}

function profileOf(tok: IToken): ProfileRef {
  const text = tok.image;
  const m = /^(\d+(?:\.\d+)+)(.*)$/.exec(text)!;
  const mods: ProfileRef['mods'] = [];
  const re = /([+-])([A-Za-z_][A-Za-z0-9_]*)/g;
  let mm: RegExpExecArray | null;
  while ((mm = re.exec(m[2]!))) mods.push({ op: mm[1] as '+' | '-', knob: mm[2]! });
  return { text, version: m[1]!, mods, pos: posOf(tok) };
}

/** One parsed line (or par block) before the scenario is assembled. */
type Item =
  | { k: 'scenario'; name: string; tok: IToken }
  | { k: 'source'; text: string; tok: IToken }
  | { k: 'kernels'; set: VersionSet; tok: IToken }
  | { k: 'file'; decl: FileDecl; fsName: string; tok: IToken }
  | { k: 'device'; name: Name; tok: IToken }
  | { k: 'memory'; zone: Name; tok: IToken }
  | { k: 'secondary'; name: Name; of: Name; tok: IToken }
  | { k: 'background'; events: BackgroundEvent[]; tok: IToken }
  | { k: 'block'; block: Block; tok: IToken }
  | { k: 'clause'; clause: Clause; tok: IToken };

// ---------------------------------------------------------------------------
// grammar

class PinParser extends EmbeddedActionsParser {
  /** the source text (for clause text) */
  src = '';
  /** complete lines so far: kept even when a later line fails */
  items: Item[] = [];
  /** the newline that ended the last complete top-level line (content assist restarts there) */
  lastTopNewline: IToken | undefined;

  constructor() {
    super(T.ALL_TOKENS, { maxLookahead: 3, errorMessageProvider: messageProvider, recoveryEnabled: false, skipValidations: T.skipChevrotainValidations });
    this.performSelfAnalysis();
  }

  private nextNonNewlineIs(t: TokenType): boolean {
    let i = 1;
    while (this.LA(i).tokenType === T.Newline) i++;
    return this.LA(i).tokenType === t;
  }

  public file = this.RULE('file', () => {
    this.MANY(() => {
      this.OR([
        {
          ALT: () => {
            const nl = this.CONSUME(T.Newline);
            this.ACTION(() => (this.lastTopNewline = nl));
          },
        },
        {
          ALT: () => {
            const it = this.SUBRULE(this.line);
            const nl = this.CONSUME2(T.Newline);
            this.ACTION(() => {
              this.items.push(it);
              this.lastTopNewline = nl;
            });
          },
        },
      ]);
    });
  });

  private line = this.RULE('line', (): Item => {
    return this.OR<Item>([
      {
        ALT: () => {
          const kw = this.CONSUME(T.Scenario);
          const n = this.CONSUME(T.ScenarioName);
          return this.ACTION(() => ({ k: 'scenario', name: n.image, tok: kw }) as Item);
        },
      },
      {
        ALT: () => {
          const kw = this.CONSUME(T.Source);
          const t = this.CONSUME(T.SourceText);
          return this.ACTION(() => ({ k: 'source', text: t.image, tok: kw }) as Item);
        },
      },
      {
        ALT: () => {
          const kw = this.CONSUME(T.Kernels);
          const set = this.SUBRULE(this.kernelSet);
          return this.ACTION(() => ({ k: 'kernels', set, tok: kw }) as Item);
        },
      },
      {
        ALT: () => {
          const kw = this.CONSUME(T.File);
          const name = this.CONSUME(T.Identifier);
          this.CONSUME(T.On);
          const fs = this.CONSUME2(T.Identifier);
          this.CONSUME(T.Pages);
          const pages = this.CONSUME(T.Int);
          this.CONSUME(T.Eq);
          const fill = this.SUBRULE(this.value);
          return this.ACTION(
            () =>
              ({
                k: 'file',
                fsName: fs.image,
                tok: kw,
                decl: { name: nameOf(name), fs: fs.image as FsType, fsPos: posOf(fs), pages: intOf(pages), fill, line: kw.startLine! },
              }) as Item,
          );
        },
      },
      {
        ALT: () => {
          const kw = this.CONSUME(T.Device);
          const name = this.CONSUME3(T.Identifier);
          return this.ACTION(() => ({ k: 'device', name: nameOf(name), tok: kw }) as Item);
        },
      },
      {
        ALT: () => {
          const kw = this.CONSUME(T.Memory);
          const zone = this.CONSUME6(T.Identifier);
          return this.ACTION(() => ({ k: 'memory', zone: nameOf(zone), tok: kw }) as Item);
        },
      },
      {
        ALT: () => {
          const kw = this.CONSUME(T.Secondary);
          const name = this.CONSUME4(T.Identifier);
          this.CONSUME(T.Of);
          const of = this.CONSUME5(T.Identifier);
          return this.ACTION(() => ({ k: 'secondary', name: nameOf(name), of: nameOf(of), tok: kw }) as Item);
        },
      },
      {
        ALT: () => {
          const kw = this.CONSUME(T.Background);
          const events: BackgroundEvent[] = [];
          const e1 = this.SUBRULE(this.bgEvent);
          this.ACTION(() => events.push(e1));
          this.MANY2(() => {
            this.CONSUME3(T.Comma);
            const e = this.SUBRULE2(this.bgEvent);
            this.ACTION(() => events.push(e));
          });
          return this.ACTION(() => ({ k: 'background', events, tok: kw }) as Item);
        },
      },
      {
        ALT: () => {
          const p = this.SUBRULE(this.par);
          return this.ACTION(() => ({ k: 'block', block: p.par, tok: p.tok }) as Item);
        },
      },
      {
        ALT: () => {
          const c = this.SUBRULE(this.clause);
          return this.ACTION(() => ({ k: 'clause', clause: c.clause, tok: c.tok }) as Item);
        },
      },
      {
        ALT: () => {
          const s = this.SUBRULE(this.step);
          return this.ACTION(() => ({ k: 'block', block: s, tok: this.LA(0) }) as Item);
        },
      },
    ]);
  });

  private bgEvent = this.RULE('bgEvent', (): BackgroundEvent => {
    const call = this.SUBRULE(this.call);
    let count = 1;
    this.OPTION(() => {
      const t = this.CONSUME(T.Times);
      this.ACTION(() => (count = Number(t.image.slice(1))));
    });
    return this.ACTION(() => ({ call, count }))!;
  });

  /** NAME(ARGS) */
  private call = this.RULE('call', (): Call => {
    const n = this.CONSUME(T.Identifier);
    const args = this.SUBRULE(this.args);
    return this.ACTION(() => ({ name: n.image, pos: posOf(n), args }))!;
  });

  private args = this.RULE('args', (): Arg[] => {
    const args: Arg[] = [];
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      const a = this.SUBRULE(this.arg);
      this.ACTION(() => args.push(a));
      this.MANY(() => {
        this.CONSUME(T.Comma);
        const b = this.SUBRULE2(this.arg);
        this.ACTION(() => args.push(b));
      });
    });
    this.CONSUME(T.RParen);
    return args;
  });

  private arg = this.RULE('arg', (): Arg => {
    return this.OR<Arg>([
      {
        ALT: () => {
          const t = this.CONSUME(T.Int);
          return this.ACTION(() => ({ kind: 'int', n: intOf(t), pos: posOf(t) }) as Arg);
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(T.CharLit);
          return this.ACTION(() => ({ kind: 'char', ch: charOf(t), pos: posOf(t) }) as Arg);
        },
      },
      {
        ALT: () => {
          const first = this.CONSUME(T.Identifier);
          const names: Name[] = [];
          let offset: { n: number; pos: Pos } | undefined;
          this.ACTION(() => names.push(nameOf(first)));
          this.OR2([
            {
              // x+N: N pages into a mapping
              ALT: () => {
                this.CONSUME(T.Plus);
                const o = this.CONSUME2(T.Int);
                this.ACTION(() => (offset = { n: intOf(o), pos: posOf(o) }));
              },
            },
            {
              ALT: () =>
                this.MANY(() => {
                  this.CONSUME(T.Pipe);
                  const n = this.CONSUME3(T.Identifier);
                  this.ACTION(() => names.push(nameOf(n)));
                }),
            },
          ]);
          return this.ACTION(() =>
            names.length === 1
              ? ({ kind: 'name', name: first.image, pos: posOf(first), ...(offset ? { offset } : {}) } as Arg)
              : ({ kind: 'flags', names, pos: posOf(first) } as Arg),
          );
        },
      },
    ]);
  });

  private value = this.RULE('value', (): ValueLit => {
    return this.OR<ValueLit>([
      {
        ALT: () => {
          const t = this.CONSUME(T.Int);
          return this.ACTION(() => ({ kind: 'int', n: intOf(t), pos: posOf(t) }) as ValueLit);
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(T.CharLit);
          return this.ACTION(() => ({ kind: 'char', ch: charOf(t), pos: posOf(t) }) as ValueLit);
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(T.Identifier);
          return this.ACTION(() => ({ kind: 'name', name: t.image, pos: posOf(t) }) as ValueLit);
        },
      },
    ]);
  });

  /** `[i]` */
  private index = this.RULE('index', (): { index: number; indexPos: Pos } => {
    this.CONSUME(T.LBracket);
    const t = this.CONSUME(T.Int);
    this.CONSUME(T.RBracket);
    return this.ACTION(() => ({ index: intOf(t), indexPos: posOf(t) }))!;
  });

  private step = this.RULE('step', (): Step => {
    const actor = this.CONSUME(T.Identifier);
    this.CONSUME(T.Colon);
    const first = this.CONSUME2(T.Identifier);
    const stmt = this.OR<Stmt>([
      {
        // NAME = CALL(ARGS) | NAME = x[i]
        ALT: () => {
          this.CONSUME(T.Eq);
          const second = this.CONSUME3(T.Identifier);
          return this.OR2<Stmt>([
            {
              ALT: () => {
                const args = this.SUBRULE(this.args);
                return this.ACTION(
                  () => ({ kind: 'call', target: nameOf(first), call: { name: second.image, pos: posOf(second), args } }) as Stmt,
                );
              },
            },
            {
              ALT: () => {
                const ix = this.SUBRULE(this.index);
                return this.ACTION(() => ({ kind: 'load', target: nameOf(first), mapping: nameOf(second), ...ix }) as Stmt);
              },
            },
          ]);
        },
      },
      {
        // x[i] = VALUE
        ALT: () => {
          const ix = this.SUBRULE2(this.index);
          this.CONSUME2(T.Eq);
          const v = this.SUBRULE(this.value);
          return this.ACTION(() => ({ kind: 'store', mapping: nameOf(first), ...ix, value: v }) as Stmt);
        },
      },
      {
        // CALL(ARGS)
        ALT: () => {
          const args = this.SUBRULE2(this.args);
          return this.ACTION(() => ({ kind: 'call', target: null, call: { name: first.image, pos: posOf(first), args } }) as Stmt);
        },
      },
    ]);
    return this.ACTION(() => ({ kind: 'step', actor: nameOf(actor), stmt, line: actor.startLine! }) as Step)!;
  });

  /** the steps of one `{ ... }` block */
  private thread = this.RULE('thread', (): Step[] => {
    const steps: Step[] = [];
    this.CONSUME(T.LBrace);
    this.CONSUME(T.Newline);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME2(T.Newline) },
        {
          ALT: () => {
            const s = this.SUBRULE(this.step);
            this.CONSUME3(T.Newline);
            this.ACTION(() => steps.push(s));
          },
        },
      ]);
    });
    this.CONSUME(T.RBrace);
    return steps;
  });

  private par = this.RULE('par', (): { par: Par; tok: IToken } => {
    const kw = this.CONSUME(T.Par);
    const threads: Step[][] = [];
    const t1 = this.SUBRULE(this.thread);
    this.ACTION(() => threads.push(t1));
    this.MANY({
      GATE: () => this.nextNonNewlineIs(T.LBrace),
      DEF: () => {
        this.MANY2(() => this.CONSUME(T.Newline));
        const t = this.SUBRULE2(this.thread);
        this.ACTION(() => threads.push(t));
      },
    });
    return this.ACTION(() => ({ par: { kind: 'par', line: kw.startLine!, threads } as Par, tok: kw }))!;
  });

  private clause = this.RULE('clause', (): { clause: Clause; tok: IToken } => {
    const kw = this.OR1([
      { ALT: () => this.CONSUME(T.Expect) },
      { ALT: () => this.CONSUME(T.Exists) },
      { ALT: () => this.CONSUME(T.Never) },
    ]);
    const pred = this.SUBRULE(this.orPred);
    let versions: VersionSet | null = null;
    this.OPTION(() => {
      this.CONSUME(T.On);
      versions = this.SUBRULE(this.versions);
    });
    return this.ACTION(() => {
      const last = this.LA(0);
      const text = this.src.slice(kw.startOffset, last.endOffset! + 1).trim();
      return { clause: { kind: kw.image as ClauseKind, pred, versions, line: kw.startLine!, text }, tok: kw };
    })!;
  });

  private orPred = this.RULE('orPred', (): Pred => {
    let left = this.SUBRULE(this.andPred);
    this.MANY(() => {
      this.CONSUME(T.Or);
      const right = this.SUBRULE2(this.andPred);
      this.ACTION(() => (left = { kind: 'or', left, right }));
    });
    return left;
  });

  private andPred = this.RULE('andPred', (): Pred => {
    let left = this.SUBRULE(this.notPred);
    this.MANY(() => {
      this.CONSUME(T.And);
      const right = this.SUBRULE2(this.notPred);
      this.ACTION(() => (left = { kind: 'and', left, right }));
    });
    return left;
  });

  private notPred = this.RULE('notPred', (): Pred => {
    return this.OR<Pred>([
      {
        ALT: () => {
          this.CONSUME(T.Not);
          const inner = this.SUBRULE(this.notPred);
          return this.ACTION(() => ({ kind: 'not', inner }) as Pred);
        },
      },
      { ALT: () => this.SUBRULE(this.atom) },
    ]);
  });

  private cmpOp = this.RULE('cmpOp', (): '==' | '!=' => {
    return this.OR([
      { ALT: () => (this.CONSUME(T.EqEq), '==' as const) },
      { ALT: () => (this.CONSUME(T.NotEq), '!=' as const) },
    ]);
  });

  private atom = this.RULE('atom', (): Pred => {
    return this.OR<Pred>([
      {
        ALT: () => {
          this.CONSUME(T.LParen);
          const p = this.SUBRULE(this.orPred);
          this.CONSUME(T.RParen);
          return p;
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Ok);
          this.CONSUME2(T.LParen);
          const n = this.CONSUME(T.Identifier);
          this.CONSUME2(T.RParen);
          return this.ACTION(() => ({ kind: 'ok', name: nameOf(n) }) as Pred);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Skipped);
          this.CONSUME3(T.LParen);
          const n = this.CONSUME2(T.Identifier);
          this.CONSUME3(T.RParen);
          return this.ACTION(() => ({ kind: 'skipped', name: nameOf(n) }) as Pred);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Violation);
          this.CONSUME4(T.LParen);
          const n = this.CONSUME3(T.Identifier);
          this.CONSUME4(T.RParen);
          return this.ACTION(() => ({ kind: 'violation', violation: nameOf(n) }) as Pred);
        },
      },
      {
        ALT: () => {
          const d = this.CONSUME(T.Disk);
          this.CONSUME5(T.LParen);
          const f = this.CONSUME4(T.Identifier);
          this.CONSUME(T.Comma);
          const i = this.CONSUME(T.Int);
          this.CONSUME5(T.RParen);
          const op = this.SUBRULE(this.cmpOp);
          const v = this.SUBRULE(this.value);
          return this.ACTION(
            () =>
              ({
                kind: 'cmp',
                op,
                lhs: { kind: 'disk', file: nameOf(f), index: intOf(i), pos: posOf(d) } as Operand,
                rhs: v,
                pos: posOf(d),
              }) as Pred,
          );
        },
      },
      {
        ALT: () => {
          const n = this.CONSUME5(T.Identifier);
          const op = this.SUBRULE2(this.cmpOp);
          const v = this.SUBRULE2(this.value);
          return this.ACTION(
            () => ({ kind: 'cmp', op, lhs: { kind: 'var', name: nameOf(n) } as Operand, rhs: v, pos: posOf(n) }) as Pred,
          );
        },
      },
      // after `NAME == v` so that a result called `clean` still compares
      {
        ALT: () => {
          const t = this.CONSUME(T.Clean);
          return this.ACTION(() => ({ kind: 'clean', pos: posOf(t) }) as Pred);
        },
      },
    ]);
  });

  private versions = this.RULE('versions', (): VersionSet => {
    return this.OR<VersionSet>([
      {
        ALT: () => {
          const t = this.CONSUME(T.All);
          return this.ACTION(() => ({ kind: 'all', pos: posOf(t) }) as VersionSet);
        },
      },
      {
        ALT: () => {
          const items: VersionItem[] = [];
          const first = this.LA(1);
          const i1 = this.SUBRULE(this.versionItem);
          this.ACTION(() => items.push(i1));
          this.MANY(() => {
            this.CONSUME(T.Comma);
            const i = this.SUBRULE2(this.versionItem);
            this.ACTION(() => items.push(i));
          });
          return this.ACTION(() => ({ kind: 'list', items, pos: posOf(first) }) as VersionSet);
        },
      },
    ]);
  });

  /** `kernels all`, or profiles, ranges and bounds separated by spaces or commas */
  private kernelSet = this.RULE('kernelSet', (): VersionSet => {
    return this.OR<VersionSet>([
      {
        ALT: () => {
          const t = this.CONSUME(T.All);
          return this.ACTION(() => ({ kind: 'all', pos: posOf(t) }) as VersionSet);
        },
      },
      {
        ALT: () => {
          const items: VersionItem[] = [];
          const first = this.LA(1);
          const i1 = this.SUBRULE(this.versionItem);
          this.ACTION(() => items.push(i1));
          this.MANY(() => {
            this.OPTION(() => this.CONSUME(T.Comma));
            const i = this.SUBRULE2(this.versionItem);
            this.ACTION(() => items.push(i));
          });
          return this.ACTION(() => ({ kind: 'list', items, pos: posOf(first) }) as VersionSet);
        },
      },
    ]);
  });

  private versionItem = this.RULE('versionItem', (): VersionItem => {
    return this.OR<VersionItem>([
      {
        ALT: () => {
          const op = this.OR2([
            { ALT: () => this.CONSUME(T.Le) },
            { ALT: () => this.CONSUME(T.Ge) },
            { ALT: () => this.CONSUME(T.Lt) },
            { ALT: () => this.CONSUME(T.Gt) },
          ]);
          const r = this.CONSUME(T.ProfileTok);
          return this.ACTION(() => ({ kind: 'bound', op: op.image as '<' | '<=' | '>' | '>=', ref: profileOf(r) }) as VersionItem);
        },
      },
      {
        ALT: () => {
          const lo = this.CONSUME2(T.ProfileTok);
          let hi: IToken | undefined;
          this.OPTION(() => {
            this.CONSUME(T.DotDot);
            hi = this.CONSUME3(T.ProfileTok);
          });
          return this.ACTION(() =>
            hi
              ? ({ kind: 'range', lo: profileOf(lo), hi: profileOf(hi) } as VersionItem)
              : ({ kind: 'profile', ref: profileOf(lo) } as VersionItem),
          );
        },
      },
    ]);
  });
}

let parserInstance: PinParser | undefined;
function getParser(): PinParser {
  return (parserInstance ??= new PinParser());
}

/**
 * Make the lexer and the parser now rather than at the first scenario read: chevrotain's analysis of
 * the tokens and the grammar, ~60 ms of a `pinlab run`. The startup snapshot's build calls it
 * (cli.ts), so that a command started from the snapshot finds both made.
 */
export function buildParser(): void {
  T.pinLexer();
  getParser();
}

// ---------------------------------------------------------------------------
// entry point

interface Located {
  line: number;
  col: number;
  make: () => PinlabSyntaxError;
}

function before(a: Located, b: Located): boolean {
  return a.line < b.line || (a.line === b.line && a.col < b.col);
}

/** Split a file into lines the way the lexer counts them. */
export function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

/** Parse a scenario file. Throws PinlabSyntaxError on the first error. */
export function parseScenario(text: string, file: string): Scenario {
  const lines = splitLines(text);
  const errAt = (line: number, col: number, msg: string, expected?: string[]) => new PinlabSyntaxError(file, line, col, msg, expected);
  let first: Located | undefined;
  const offer = (l: Located) => {
    if (!first || before(l, first)) first = l;
  };

  // -- size: everything after this is linear in the text, but the text itself must be bounded
  if (text.length > LIMITS.fileChars) {
    const before = text.slice(0, LIMITS.fileChars);
    const line = before.split(/\r\n|\r|\n/).length;
    const col = before.length - Math.max(before.lastIndexOf('\n'), before.lastIndexOf('\r'));
    throw errAt(line, col, `this file is longer than ${LIMITS.fileChars} characters, the limit for a scenario (docs/limits.md)`);
  }

  // -- lexing
  const lexed = T.pinLexer().tokenize(text);
  for (const e of lexed.errors) {
    const line = e.line ?? 1;
    const col = e.column ?? 1;
    const cp = text.codePointAt(e.offset) ?? 0;
    const ch = String.fromCodePoint(cp);
    const shown = /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(ch) ? `'${ch}'` : `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    offer({ line, col, make: () => errAt(line, col, `unexpected character ${shown}`) });
    break;
  }
  const tokens: IToken[] = [];
  for (const t of lexed.tokens) {
    if (t.tokenType === T.BadCharLit) {
      const line = t.startLine!;
      const col = t.startColumn!;
      const img = t.image;
      const msg =
        img.length < 2 || !img.endsWith("'")
          ? 'unterminated character literal; a character is written like \'a\''
          : img === "''"
            ? 'empty character literal; a character is written like \'a\''
            : `a character literal holds one character, found ${img}`;
      offer({ line, col, make: () => errAt(line, col, msg) });
      continue;
    }
    tokens.push(t);
  }
  // every statement ends with a newline: add one at the end of the file
  const last = tokens[tokens.length - 1];
  if (!last || last.tokenType !== T.Newline) {
    const lastLine = lines.length;
    const col = (lines[lastLine - 1] ?? '').length + 1;
    tokens.push(createTokenInstance(T.Newline, '', text.length, text.length, lastLine, lastLine, col, col));
  }

  // -- limits the recursive descent and the model need before the AST exists (docs/limits.md)
  const cut = scanLimits(tokens, (tok, msg) => {
    const { line, col } = posOf(tok);
    offer({ line, col, make: () => errAt(line, col, msg) });
  });

  // -- parsing (only up to a line that would nest too deep: its error is already offered)
  const parser = getParser();
  parser.src = text;
  parser.items = [];
  parser.lastTopNewline = undefined;
  parser.input = cut < tokens.length ? tokens.slice(0, cut) : tokens;
  parser.file();
  const items = parser.items;
  const perr = parser.errors[0];
  if (perr) {
    const loc = locateParseError(perr, tokens, lines, file);
    offer(loc);
  }

  // -- structure: scenario first, no duplicate headers, known FS, par blocks
  const seen = new Map<string, IToken>();
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    const p = posOf(it.tok);
    if (i === 0 && it.k !== 'scenario') {
      offer({
        line: p.line,
        col: p.col,
        make: () => errAt(p.line, p.col, `a scenario starts with 'scenario NAME', found '${it.tok.image}'`, ["'scenario'"]),
      });
    }
    if (it.k === 'scenario' || it.k === 'source' || it.k === 'kernels') {
      const prev = seen.get(it.k);
      if (prev) {
        offer({
          line: p.line,
          col: p.col,
          make: () => errAt(p.line, p.col, `duplicate '${it.k}' line (the first is on line ${prev.startLine})`),
        });
      } else seen.set(it.k, it.tok);
    }
    if (it.k === 'file' && !(FS_TYPES as readonly string[]).includes(it.fsName)) {
      const fp = it.decl.fsPos;
      offer({
        line: fp.line,
        col: fp.col,
        make: () =>
          errAt(
            fp.line,
            fp.col,
            `unknown file system '${it.fsName}'${suggestion(it.fsName, FS_TYPES)} (pinlab models ${FS_TYPES.join(', ')})`,
            [...FS_TYPES],
          ),
      });
    }
    if (it.k === 'block' && it.block.kind === 'par' && it.block.threads.length > LIMITS.threads) {
      offer({
        line: p.line,
        col: p.col,
        make: () => errAt(p.line, p.col, `this 'par' has ${(it.block as Par).threads.length} threads; the limit is ${LIMITS.threads} (docs/limits.md)`),
      });
    }
    if (it.k === 'block' && it.block.kind === 'par' && it.block.threads.length < 2) {
      offer({
        line: p.line,
        col: p.col,
        make: () => errAt(p.line, p.col, "'par' needs two or more '{ ... }' blocks, one per thread", ["'{'"]),
      });
    }
  }
  if (items.length === 0 && !perr && cut === tokens.length) {
    offer({ line: 1, col: 1, make: () => errAt(1, 1, "empty scenario: expected 'scenario NAME'", ["'scenario'"]) });
  }
  if (first) throw first.make();

  const sc: Scenario = {
    file,
    name: '',
    source: null,
    kernels: null,
    files: [],
    devices: [],
    secondaries: [],
    background: [],
    body: [],
    clauses: [],
    lines,
  };
  for (const it of items) {
    switch (it.k) {
      case 'scenario':
        sc.name = it.name;
        break;
      case 'source':
        sc.source = it.text;
        break;
      case 'kernels':
        sc.kernels = it.set;
        break;
      case 'file':
        sc.files.push(it.decl);
        break;
      case 'device':
        sc.devices.push(it.name);
        break;
      case 'memory':
        if (!(ZONES as readonly string[]).includes(it.zone.name)) {
          const dym = didYouMean(it.zone.name, ZONES);
          throw new PinlabSyntaxError(file, it.zone.pos.line, it.zone.pos.col, `unknown zone '${it.zone.name}'${dym ? `; did you mean '${dym}'?` : ''} (memory normal|movable|cma)`, [...ZONES]);
        }
        sc.memory = it.zone.name as Zone;
        break;
      case 'secondary':
        sc.secondaries.push({ name: it.name, of: it.of });
        break;
      case 'background':
        sc.background.push(...it.events);
        break;
      case 'block':
        sc.body.push(it.block);
        break;
      case 'clause':
        sc.clauses.push(it.clause);
        break;
    }
  }
  return sc;
}

/**
 * The limits that hold on tokens (docs/limits.md): every number, background counts (`x2`), the
 * index of `disk(F, i)` and the size of a declared file; tokens per line, nesting of parentheses and
 * operators per clause, which keep the recursive descent (and the checker's and interpreter's
 * recursion over predicates) shallow. Each violation is reported through `bad` at its token.
 * Returns where the parser must stop: the start of the first line that nests too deep or is too
 * long (tokens.length when none does).
 */
function scanLimits(tokens: IToken[], bad: (tok: IToken, msg: string) => void): number {
  let depth = 0;
  let ops = 0;
  let count = 0;
  let lineStart = 0;
  let clauseLine = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const ty = t.tokenType;
    if (ty === T.Newline) {
      depth = ops = count = 0;
      lineStart = i + 1;
      continue;
    }
    if (count++ === 0) clauseLine = ty === T.Expect || ty === T.Exists || ty === T.Never;
    if (count > LIMITS.lineTokens) {
      bad(t, `this line has more than ${LIMITS.lineTokens} tokens, the limit for one line (docs/limits.md)`);
      return lineStart;
    }
    if (ty === T.LParen && ++depth > LIMITS.nesting) {
      bad(t, `parentheses nested more than ${LIMITS.nesting} deep, the limit (docs/limits.md)`);
      return lineStart;
    }
    if (ty === T.RParen && depth > 0) depth--;
    if (clauseLine && (ty === T.And || ty === T.Or || ty === T.Not) && ++ops > LIMITS.clauseOperators) {
      bad(t, `a clause with more than ${LIMITS.clauseOperators} 'and', 'or' and 'not' operators; that is the limit (docs/limits.md)`);
      return lineStart;
    }
    if (ty === T.Int) {
      const n = Number(t.image);
      if (!(n <= LIMITS.number)) bad(t, `the number ${shortImage(t.image)} is too large: numbers go up to ${LIMITS.number} (2^28 - 1; docs/limits.md)`);
      else if (tokens[i - 1]?.tokenType === T.Pages && n > LIMITS.pages)
        bad(t, `a file of ${n} pages; the limit is ${LIMITS.pages} pages (docs/limits.md)`);
      else if (tokens[i - 4]?.tokenType === T.Disk && tokens[i - 3]?.tokenType === T.LParen && tokens[i - 1]?.tokenType === T.Comma && n >= LIMITS.pages)
        bad(t, `page index ${n} is out of range: an index is below ${LIMITS.pages}, the page limit (docs/limits.md)`);
    }
    if (ty === T.Times) {
      const n = Number(t.image.slice(1));
      if (!(n >= 1 && n <= LIMITS.backgroundTimes))
        bad(t, `a background event fires 1 to ${LIMITS.backgroundTimes} times (x1 .. x${LIMITS.backgroundTimes}), not ${shortImage(t.image)} (docs/limits.md)`);
    }
  }
  return tokens.length;
}

/** A number as written, shortened if it is very long. */
function shortImage(s: string): string {
  return s.length > 24 ? `${s.slice(0, 12)}...${s.slice(-6)} (${s.length} digits)` : s;
}

/** The token types that may follow tokens[0..upTo) (chevrotain content assist). */
function nextTypes(tokens: IToken[], upTo: number): TokenType[] {
  // 'file' is a sequence of lines: start after the last line that parsed
  const p = getParser();
  const from = p.lastTopNewline ? tokens.indexOf(p.lastTopNewline) + 1 : 0;
  const paths = p.computeContentAssist('file', tokens.slice(Math.min(from, upTo), upTo));
  const types: TokenType[] = [];
  for (const p of paths) if (!types.includes(p.nextTokenType)) types.push(p.nextTokenType);
  return types;
}

function endOfFilePos(lines: string[]): Pos {
  let l = lines.length;
  while (l > 1 && lines[l - 1]!.trim() === '') l--;
  return { line: l, col: (lines[l - 1] ?? '').replace(/\s+$/, '').length + 1 };
}

/**
 * Position and message for chevrotain's first error. LL(k) lookahead may
 * reject a line at its first token although the mistake is further right
 * (`expect r = 'c'`), so walk forward while content assist still accepts
 * the next token: the first token it rejects is the one to point at, and
 * the token types it would take are the "expected" list.
 */
function locateParseError(e: IRecognitionException, tokens: IToken[], lines: string[], file: string): Located {
  let idx = tokens.indexOf(e.token);
  let message = e.message;
  let expected: string[] | undefined;
  let types: TokenType[] | undefined;
  try {
    if (idx < 0) idx = tokens.length;
    for (let guard = 0; guard < 64; guard++) {
      const ts = nextTypes(tokens, idx);
      const tok = tokens[idx];
      if (tok && ts.some((t) => tokenMatcher(tok, t)) && tok.tokenType !== T.Newline) {
        idx++;
        continue;
      }
      types = ts;
      break;
    }
  } catch {
    types = undefined;
    idx = Math.max(0, tokens.indexOf(e.token));
  }
  const tok: IToken | undefined = tokens[idx];
  const found = tok ? T.describeToken(tok) : 'end of file';
  const { line, col } = tok && tok.startLine !== undefined && !Number.isNaN(tok.startLine) ? posOf(tok) : endOfFilePos(lines);
  const lineToks = tokens.filter((t) => t.startLine === line && t.tokenType !== T.Newline && t.image !== '');
  const head = lineToks[0];
  if (types && types.length > 0) {
    let ordered = orderExpected(types);
    // `source` + nothing: do not suggest reading the keyword as an actor
    if (ordered.length > 1 && head && head !== tok && T.KEYWORDS.includes(head.tokenType) && tokens[idx - 1] === head) {
      ordered = ordered.filter((t) => t !== T.Colon);
    }
    expected = expectedList(ordered);
    const atLineStart = idx === 0 || tokens[idx - 1]!.tokenType === T.Newline;
    const startsLine = atLineStart && ordered.includes(T.Identifier) && ordered.includes(T.Newline);
    message =
      startsLine && ordered.includes(T.RBrace)
        ? `expected a step 'ACTOR: ...' or '}' but found ${found}`
        : startsLine
          ? `expected a statement (a header, 'ACTOR: ...', 'par {' or a clause) but found ${found}`
          : `expected ${joinOr(expected)} but found ${found}`;
  }
  // a misspelt header or clause keyword at the start of a line reads as an actor
  if (head && head.tokenType === T.Identifier && tokens[idx - 1] === head && tok && tok.tokenType !== T.Colon) {
    const s = didYouMean(head.image, T.LINE_KEYWORDS);
    const hp = posOf(head);
    if (s) {
      return {
        ...hp,
        make: () => new PinlabSyntaxError(file, hp.line, hp.col, `unknown statement '${head.image}'; did you mean '${s}'?`, [`'${s}'`]),
      };
    }
    message = `expected ':' after '${head.image}' (a step is 'ACTOR: STATEMENT') but found ${found}`;
  }
  const m = message;
  const x = expected;
  return { line, col, make: () => new PinlabSyntaxError(file, line, col, m, x) };
}

/**
 * Content assist lists every token type, keywords included, that may come
 * next; a keyword that is only acceptable as a name is folded into "a name".
 * Punctuation that closes something comes first.
 */
function orderExpected(types: TokenType[]): TokenType[] {
  const hasName = types.includes(T.Identifier);
  const kept = types.filter((t) => !(hasName && T.KEYWORDS.includes(t) && !isStructuralKeyword(t, types)));
  const rank = (t: TokenType) => (t === T.RParen || t === T.RBracket || t === T.RBrace ? 0 : t === T.Newline ? 2 : 1);
  return kept.sort((a, b) => rank(a) - rank(b));
}

/** Keywords that are expected as keywords (not merely as names) when a name is also expected. */
function isStructuralKeyword(t: TokenType, types: TokenType[]): boolean {
  // `on`, `and`, `or` after a predicate are real alternatives to end of line
  return (t === T.On || t === T.And || t === T.Or) && types.includes(T.Newline);
}
