// The scenario language's abstract syntax (spec v1, ../shared/spec/language.md).
// The parser (parser.ts) produces it; the checker (check.ts) validates names
// against ops.ts and the profiles; the interpreter consumes it. The model never
// sees it.

/** 1-based source position. */
export interface Pos {
  line: number;
  col: number;
}

export interface Name {
  name: string;
  pos: Pos;
}

/** An argument of a call. `flags` is two or more names joined with `|`. */
export type Arg =
  | { kind: 'int'; n: number; pos: Pos }
  | { kind: 'char'; ch: string; pos: Pos }
  /** offset: `x+N`, N pages into mapping x (munmap, mprotect, madvise) */
  | { kind: 'name'; name: string; pos: Pos; offset?: { n: number; pos: Pos } }
  | { kind: 'flags'; names: Name[]; pos: Pos };

/** A value on the right of `x[i] = v`, a file fill, or a predicate comparison. */
export type ValueLit =
  | { kind: 'int'; n: number; pos: Pos }
  | { kind: 'char'; ch: string; pos: Pos }
  /** errno names (EFAULT), SIGSEGV, or another result's name */
  | { kind: 'name'; name: string; pos: Pos };

export interface Call {
  name: string;
  pos: Pos;
  args: Arg[];
}

export type Stmt =
  /** `NAME = CALL(ARGS)` or `CALL(ARGS)` */
  | { kind: 'call'; target: Name | null; call: Call }
  /** `x[i] = v`: a CPU store through a mapping */
  | { kind: 'store'; mapping: Name; index: number; indexPos: Pos; value: ValueLit }
  /** `r = x[i]`: a CPU load through a mapping */
  | { kind: 'load'; target: Name; mapping: Name; index: number; indexPos: Pos };

export interface Step {
  kind: 'step';
  actor: Name;
  stmt: Stmt;
  line: number;
}

export interface Par {
  kind: 'par';
  line: number;
  /** one array of steps per brace block */
  threads: Step[][];
}

export type Block = Step | Par;

/** `5.9`, `6.2+upm_v10+restricted_aops`, `5.7+s390_pv-arch_make_page_accessible_writeback` */
export interface ProfileRef {
  text: string;
  version: string;
  mods: { op: '+' | '-'; knob: string }[];
  pos: Pos;
}

export type VersionItem =
  | { kind: 'profile'; ref: ProfileRef }
  | { kind: 'range'; lo: ProfileRef; hi: ProfileRef }
  | { kind: 'bound'; op: '<' | '<=' | '>' | '>='; ref: ProfileRef };

/** `all`, or a list of items. */
export type VersionSet = { kind: 'all'; pos: Pos } | { kind: 'list'; items: VersionItem[]; pos: Pos };

export type Operand =
  | { kind: 'var'; name: Name }
  | { kind: 'disk'; file: Name; index: number; pos: Pos };

export type Pred =
  | { kind: 'and'; left: Pred; right: Pred }
  | { kind: 'or'; left: Pred; right: Pred }
  | { kind: 'not'; inner: Pred }
  | { kind: 'cmp'; op: '==' | '!='; lhs: Operand; rhs: ValueLit; pos: Pos }
  | { kind: 'ok'; name: Name }
  | { kind: 'skipped'; name: Name }
  | { kind: 'violation'; violation: Name }
  | { kind: 'clean'; pos: Pos };

export type ClauseKind = 'expect' | 'exists' | 'never';

export interface Clause {
  kind: ClauseKind;
  pred: Pred;
  versions: VersionSet | null;
  line: number;
  /** the clause's source text without comment, e.g. "expect r == 'c' on <=5.8" */
  text: string;
}

export type FsType = 'ext4' | 'tmpfs' | 'hugetlbfs';

export interface FileDecl {
  name: Name;
  fs: FsType;
  fsPos: Pos;
  pages: number;
  fill: ValueLit;
  line: number;
}

export interface BackgroundEvent {
  call: Call;
  /** at most this many times (default 1) */
  count: number;
}

/** Where user pages are allocated (`memory ZONE` header, docs/language-additions.md). */
export const ZONES = ['normal', 'movable', 'cma'] as const;
export type Zone = (typeof ZONES)[number];

export interface Scenario {
  file: string;
  name: string;
  source: string | null;
  /** the `kernels` line: profiles, ranges, bounds or `all` (null when absent) */
  kernels: VersionSet | null;
  files: FileDecl[];
  devices: Name[];
  secondaries: { name: Name; of: Name }[];
  /** zone user pages come from (default normal) */
  memory?: Zone;
  background: BackgroundEvent[];
  body: Block[];
  clauses: Clause[];
  /** the file's lines, for error carets and reports */
  lines: string[];
}
