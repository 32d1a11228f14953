// Semantic checks of a parsed scenario (spec v1): actors, operations and their
// arguments (ops.ts), names, flags, predicates and kernel profiles
// (profiles.ts). checkScenario() throws a positioned PinlabSyntaxError with a
// did-you-mean at the first problem and returns what it learnt about names.

import type { Arg, Call, Name, Pos, Pred, ProfileRef, Scenario, Step, ValueLit, VersionSet } from './ast.js';
import {
  ERRNO_NAMES,
  FOLL_FLAGS,
  MADV_ADVICE,
  MAP_FLAGS,
  PROT_FLAGS,
  SIGNAL_NAMES,
  VIOLATION_KINDS,
  opFor,
  opNamesFor,
  type ActorKind,
  type OpSig,
  type ParamKind,
  type ResultKind,
} from './ops.js';
import { PinlabSyntaxError, didYouMean, suggestion } from './errors.js';
import { ProfileError, VERSIONS, compareVersions, isVersion, makeProfile, matchersOfSet, profilesOf } from '../profiles/profiles.js';

/** the calls whose address may be `x+N` (a range starting N pages into the mapping) */
const OFFSET_CALLS = new Set(['munmap', 'mprotect', 'madvise']);

export interface CheckedInfo {
  /** every actor name: processes (implicit first one and fork children), devices, secondary MMUs, `sys` */
  actors: Map<string, ActorKind>;
  /** processes in creation order; the first is the one created implicitly on first use */
  processes: string[];
  /** every named result (fork children included, as 'proc') and the kind of value it holds */
  results: Map<string, ResultKind>;
}

/** What a name denotes while checking. */
type NameKind = ResultKind | 'device' | 'secondary' | 'sys' | 'anon';

const ACTOR_NOUN: Record<ActorKind, string> = {
  process: 'a process',
  device: 'a device',
  secondary: 'a secondary MMU',
  sys: 'sys',
};

const KIND_NOUN: Record<NameKind, string> = {
  mapping: 'a mapping',
  file: 'a file',
  pin: 'a pin handle',
  pipe: 'a pipe',
  proc: 'a process',
  value: 'a value',
  status: 'a status result',
  device: 'a device',
  secondary: 'a secondary MMU',
  sys: 'the kernel actor',
  anon: "'anon'",
};

const FLAG_LISTS: { kind: ParamKind; family: string; names: readonly string[] }[] = [
  { kind: 'foll', family: 'FOLL_*', names: FOLL_FLAGS },
  { kind: 'prot', family: 'PROT_*', names: PROT_FLAGS },
  { kind: 'mapflags', family: 'MAP_*', names: MAP_FLAGS },
  { kind: 'advice', family: 'MADV_*', names: MADV_ADVICE },
];

const RESERVED = new Set<string>([
  'anon',
  'sys',
  ...ERRNO_NAMES,
  ...SIGNAL_NAMES,
  ...FOLL_FLAGS,
  ...PROT_FLAGS,
  ...MAP_FLAGS,
  ...MADV_ADVICE,
]);

class Checker {
  readonly actors = new Map<string, ActorKind>();
  readonly processes: string[] = [];
  readonly results = new Map<string, ResultKind>();
  readonly files = new Set<string>();
  /** where each result name was first bound */
  readonly boundAt = new Map<string, number>();
  /** NAME = fork() targets, with the line of the fork */
  readonly forkTargets = new Map<string, number>();
  implicit: string | null = null;
  forked = false;

  constructor(readonly s: Scenario) {}

  fail(pos: Pos, msg: string, expected?: string[]): never {
    throw new PinlabSyntaxError(this.s.file, pos.line, pos.col, msg, expected);
  }

  /** What a name denotes right now, if anything. */
  kindOf(name: string): NameKind | undefined {
    if (name === 'anon') return 'anon';
    const a = this.actors.get(name);
    if (a === 'process') return 'proc';
    if (a === 'device' || a === 'secondary' || a === 'sys') return a;
    if (this.files.has(name)) return 'file';
    return this.results.get(name);
  }

  namesOfKind(...kinds: NameKind[]): string[] {
    const out: string[] = [];
    for (const f of this.files) if (kinds.includes('file')) out.push(f);
    for (const [n, k] of this.results) if (kinds.includes(k) && !out.includes(n)) out.push(n);
    for (const [n, a] of this.actors) {
      const k: NameKind = a === 'process' ? 'proc' : a;
      if (kinds.includes(k) && !out.includes(n)) out.push(n);
    }
    return out;
  }

  /** A new name (device, secondary, file, result) must not clash with another kind of name. */
  declare(n: Name, what: NameKind): void {
    if (RESERVED.has(n.name)) this.fail(n.pos, `'${n.name}' is a reserved name; choose another`);
    const k = this.kindOf(n.name);
    if (k !== undefined && k !== what) this.fail(n.pos, `'${n.name}' is already ${KIND_NOUN[k]}; choose another name`);
    if (k !== undefined && (what === 'device' || what === 'secondary' || what === 'file')) {
      this.fail(n.pos, `duplicate ${what === 'file' ? 'file' : what} '${n.name}'`);
    }
  }

  // -- headers -------------------------------------------------------------

  headers(): void {
    const s = this.s;
    this.actors.set('sys', 'sys');
    for (const d of s.devices) {
      this.declare(d, 'device');
      this.actors.set(d.name, 'device');
    }
    for (const sec of s.secondaries) {
      this.declare(sec.name, 'secondary');
      this.actors.set(sec.name.name, 'secondary');
    }
    for (const f of s.files) {
      this.declare(f.name, 'file');
      this.files.add(f.name.name);
      if (f.fill.kind === 'name') this.fail(f.fill.pos, `a file is filled with a character like 'a' or a number, not '${f.fill.name}'`);
    }
    this.versions(s.kernels);
    if (s.kernels && profilesOf(matchersOfSet(s.kernels)).length === 0)
      this.fail(s.kernels.pos, `this kernels line selects no profile pinlab models (${VERSIONS.join(', ')})`, [...VERSIONS]);
    // fork targets are known up front so that "used before fork" can be told apart from "unknown"
    this.eachStep((st) => {
      if (st.stmt.kind === 'call' && st.stmt.call.name === 'fork' && st.stmt.target && !this.forkTargets.has(st.stmt.target.name)) {
        this.forkTargets.set(st.stmt.target.name, st.line);
      }
    });
    for (const sec of s.secondaries) {
      const p = sec.of;
      const k = this.kindOf(p.name);
      if (k === 'proc' || this.forkTargets.has(p.name)) continue;
      if (k !== undefined) this.fail(p.pos, `a secondary MMU follows a process, but '${p.name}' is ${KIND_NOUN[k]}`);
      if (this.implicit === null) {
        this.createImplicit(p);
        continue;
      }
      this.fail(p.pos, `unknown process '${p.name}'${suggestion(p.name, this.processNames())}`);
    }
  }

  processNames(): string[] {
    return [...this.processes, ...this.forkTargets.keys()];
  }

  createImplicit(n: Name): void {
    if (RESERVED.has(n.name)) this.fail(n.pos, `'${n.name}' is a reserved name; choose another actor name`);
    this.implicit = n.name;
    this.actors.set(n.name, 'process');
    this.processes.push(n.name);
  }

  eachStep(f: (st: Step) => void): void {
    for (const b of this.s.body) {
      if (b.kind === 'step') f(b);
      else for (const th of b.threads) for (const st of th) f(st);
    }
  }

  // -- profiles ------------------------------------------------------------

  profile(r: ProfileRef): void {
    try {
      makeProfile(r.version, r.mods);
    } catch (e) {
      if (!(e instanceof ProfileError)) throw e;
      // the offending word: the version, or the knob that starts at e.offset
      let word = r.version;
      let off = r.version.length;
      let isKnob = false;
      for (const m of r.mods) {
        if (off + 1 === e.offset) {
          word = m.knob;
          isKnob = true;
          break;
        }
        off += 1 + m.knob.length;
      }
      const pos = { line: r.pos.line, col: r.pos.col + e.offset };
      // versions are listed (5.10 is not a typo of 5.18); knobs get a did-you-mean
      const hint = isKnob ? suggestion(word, e.suggestions) : '';
      const known = isKnob ? '; `pinlab profiles` lists the knobs' : `; pinlab models ${VERSIONS.join(', ')}`;
      this.fail(pos, `${e.message}${hint || known}`, e.suggestions);
    }
  }

  versions(v: VersionSet | null): void {
    if (!v || v.kind === 'all') return;
    for (const it of v.items) {
      if (it.kind === 'profile') this.profile(it.ref);
      else if (it.kind === 'bound') this.endpoint(it.ref, 'a bound');
      else {
        this.endpoint(it.lo, 'a range');
        this.endpoint(it.hi, 'a range');
        if (compareVersions(it.lo.version, it.hi.version) > 0) {
          this.fail(it.lo.pos, `empty range '${it.lo.text}..${it.hi.text}': the lower end comes first`);
        }
      }
    }
  }

  /** A range or bound names a version (any: it selects the profiles pinlab knows inside it), never a variant. */
  endpoint(r: ProfileRef, what: string): void {
    if (r.mods.length || !isVersion(r.version))
      this.fail(r.pos, `${what} takes a version like 5.11, not the variant '${r.text}' (list a variant on its own)`, [...VERSIONS]);
  }

  // -- body ----------------------------------------------------------------

  actor(st: Step): ActorKind {
    const a = st.actor;
    const known = this.actors.get(a.name);
    if (known) return known;
    const r = this.results.get(a.name);
    if (r !== undefined) this.fail(a.pos, `'${a.name}' is ${KIND_NOUN[r]}, not an actor`);
    if (this.files.has(a.name)) this.fail(a.pos, `'${a.name}' is a file, not an actor`);
    const forkLine = this.forkTargets.get(a.name);
    if (forkLine !== undefined) {
      this.fail(a.pos, `process '${a.name}' is used before '${a.name} = fork()' on line ${forkLine} creates it`);
    }
    if (this.implicit === null && !this.forked) {
      this.createImplicit(a);
      return 'process';
    }
    const cands = [...this.actors.keys()];
    const hint = suggestion(a.name, cands);
    this.fail(
      a.pos,
      `unknown actor '${a.name}'${hint}${hint ? '' : ` (actors: ${cands.join(', ')}; a new process comes from 'NAME = fork()')`}`,
    );
  }

  step(st: Step): void {
    const kind = this.actor(st);
    const stmt = st.stmt;
    if (stmt.kind === 'store' || stmt.kind === 'load') {
      if (kind !== 'process') {
        const alt = kind === 'secondary' ? "; a secondary MMU uses read(x, i) and write(x, i, v)" : kind === 'device' ? '; a device uses dma_read(p, i) and dma_write(p, i, v)' : '';
        this.fail(st.actor.pos, `only a process accesses memory with x[i]; '${st.actor.name}' is ${ACTOR_NOUN[kind]}${alt}`);
      }
      this.needName(stmt.mapping, ['mapping'], 'a mapping from mmap()');
      if (stmt.kind === 'store') this.storeValue(stmt.value);
      else this.bind(stmt.target, 'value');
      return;
    }
    const op = this.op(kind, stmt.call, st.actor.name);
    this.args(op, stmt.call);
    if (stmt.call.name === 'fork') this.forked = true;
    if (stmt.target) {
      if (op.returns === 'proc') this.newProcess(stmt.target);
      else this.bind(stmt.target, op.returns);
    }
  }

  storeValue(v: ValueLit): void {
    if (v.kind === 'name') this.fail(v.pos, `a CPU store writes a character like 'a' or a number, not '${v.name}'`);
  }

  newProcess(t: Name): void {
    const k = this.kindOf(t.name);
    if (RESERVED.has(t.name)) this.fail(t.pos, `'${t.name}' is a reserved name; choose another process name`);
    if (k !== undefined) this.fail(t.pos, `'${t.name}' is already ${KIND_NOUN[k]}; fork() needs a new name for the child`);
    this.actors.set(t.name, 'process');
    this.processes.push(t.name);
    this.results.set(t.name, 'proc');
    this.boundAt.set(t.name, t.pos.line);
  }

  bind(t: Name, kind: ResultKind): void {
    if (RESERVED.has(t.name)) this.fail(t.pos, `'${t.name}' is a reserved name; choose another result name`);
    const k = this.kindOf(t.name);
    if (k !== undefined && k !== kind) {
      const at = this.boundAt.get(t.name);
      this.fail(t.pos, `'${t.name}' is already ${KIND_NOUN[k]}${at ? ` (line ${at})` : ''}; use another name for ${KIND_NOUN[kind]}`);
    }
    if (!this.results.has(t.name)) this.boundAt.set(t.name, t.pos.line);
    this.results.set(t.name, kind);
  }

  op(kind: ActorKind, call: Call, actorName: string): OpSig {
    const op = opFor(kind, call.name);
    if (op) return op;
    const who = kind === 'sys' ? 'sys' : ACTOR_NOUN[kind];
    void actorName;
    const hint = suggestion(call.name, opNamesFor(kind));
    if (!hint) {
      for (const other of ['process', 'device', 'secondary', 'sys'] as ActorKind[]) {
        if (other !== kind && opFor(other, call.name)) {
          const as = other === 'sys' ? "'sys:'" : ACTOR_NOUN[other];
          this.fail(call.pos, `'${call.name}' is not an operation for ${who}; it is done by ${as}`);
        }
      }
    }
    this.fail(
      call.pos,
      `unknown operation '${call.name}' for ${who}${hint || `; expected one of ${opNamesFor(kind).join(', ')}`}`,
      opNamesFor(kind),
    );
  }

  args(op: OpSig, call: Call): void {
    const n = op.params.length;
    if (call.args.length !== n) {
      const extra = call.args[n];
      const pos = call.args.length > n && extra ? extra.pos : call.pos;
      const what = n === 0 ? 'no arguments' : n === 1 ? '1 argument' : `${n} arguments`;
      this.fail(pos, `'${call.name}' takes ${what}: ${op.doc.replace(/ returns.*$/, '')}; found ${call.args.length}`);
    }
    op.params.forEach((p, i) => this.arg(p, call.args[i]!, call));
  }

  arg(p: ParamKind, a: Arg, call: Call): void {
    if (a.kind === 'name' && a.offset && !(p === 'mapping' && OFFSET_CALLS.has(call.name)))
      this.fail(a.pos, `'${a.name}+${a.offset.n}' (pages into a mapping) is an address only munmap, mprotect and madvise take`);
    switch (p) {
      case 'int':
        if (a.kind !== 'int') this.fail(a.pos, `expected a number but found ${argText(a)}`);
        return;
      case 'value':
        if (a.kind !== 'int' && a.kind !== 'char') this.fail(a.pos, `expected a character like 'a' or a number but found ${argText(a)}`);
        return;
      case 'mapping':
        return this.needArgName(a, ['mapping'], 'a mapping from mmap()');
      case 'file':
        return this.needArgName(a, ['file'], 'a file');
      case 'backing':
        return this.needArgName(a, ['anon', 'file'], "'anon' or a file");
      case 'mapping_or_file':
        return this.needArgName(a, ['mapping', 'file'], 'a mapping or a file');
      case 'pin':
        return this.needArgName(a, ['pin'], 'a pin handle');
      case 'pipe':
        return this.needArgName(a, ['pipe'], 'a pipe from vmsplice()');
      case 'proc':
        return this.needArgName(a, ['proc'], 'a process');
      case 'prot':
      case 'foll':
      case 'mapflags':
      case 'advice':
        return this.flags(p, a, call);
    }
  }

  flags(p: ParamKind, a: Arg, call: Call): void {
    const list = FLAG_LISTS.find((l) => l.kind === p)!;
    const zeroOk = p === 'foll' || p === 'prot';
    const what = p === 'advice' ? `one ${list.family} advice` : `${list.family} flags${zeroOk ? ' or 0' : ''}`;
    if (a.kind === 'int') {
      if (a.n === 0 && zeroOk) return;
      this.fail(a.pos, `expected ${what} but found ${a.n}`, [...list.names]);
    }
    if (a.kind === 'char') this.fail(a.pos, `expected ${what} but found ${argText(a)}`, [...list.names]);
    if (a.kind === 'flags' && p === 'advice') this.fail(a.pos, `${call.name} takes ${what}, not a combination`, [...list.names]);
    const names: Name[] = a.kind === 'flags' ? a.names : a.kind === 'name' ? [{ name: a.name, pos: a.pos }] : [];
    for (const n of names) {
      if (list.names.includes(n.name)) continue;
      const hint = didYouMean(n.name, list.names);
      if (hint) this.fail(n.pos, `unknown flag '${n.name}'; did you mean '${hint}'?`, [...list.names]);
      const other = FLAG_LISTS.find((l) => l.names.includes(n.name));
      if (other) this.fail(n.pos, `'${n.name}' is a ${other.family} flag; ${call.name} expects ${what} here`, [...list.names]);
      this.fail(n.pos, `unknown flag '${n.name}'; expected ${what} (${list.names.join(', ')})`, [...list.names]);
    }
    if (p === 'mapflags') {
      const set = names.map((n) => n.name);
      const kinds = set.filter((n) => n === 'MAP_SHARED' || n === 'MAP_PRIVATE').length;
      if (kinds !== 1) this.fail(a.pos, `${call.name} needs exactly one of MAP_SHARED or MAP_PRIVATE`, ['MAP_SHARED', 'MAP_PRIVATE']);
    }
  }

  needArgName(a: Arg, kinds: NameKind[], what: string): void {
    if (a.kind !== 'name') this.fail(a.pos, `expected ${what} but found ${argText(a)}`);
    this.needName({ name: a.name, pos: a.pos }, kinds, what);
  }

  needName(n: Name, kinds: NameKind[], what: string): void {
    const k = this.kindOf(n.name);
    if (k !== undefined && kinds.includes(k)) return;
    if (k !== undefined) this.fail(n.pos, `expected ${what} but '${n.name}' is ${KIND_NOUN[k]}`);
    if (kinds.includes('proc') && this.forkTargets.has(n.name)) {
      this.fail(n.pos, `process '${n.name}' is used before '${n.name} = fork()' on line ${this.forkTargets.get(n.name)} creates it`);
    }
    const cands = this.namesOfKind(...kinds);
    if (kinds.includes('anon')) cands.push('anon');
    const later = this.laterBinding(n.name);
    const hint = suggestion(n.name, cands);
    const when = later !== undefined && later > n.pos.line ? `; it is bound only later, on line ${later}` : '';
    this.fail(n.pos, `unknown name '${n.name}' (expected ${what})${when || hint}`);
  }

  /** The line of a binding of `name` anywhere in the body (for "bound only later"). */
  laterBinding(name: string): number | undefined {
    let line: number | undefined;
    this.eachStep((st) => {
      if (line !== undefined) return;
      const t = st.stmt.kind === 'store' ? null : st.stmt.target;
      if (t && t.name === name) line = st.line;
    });
    return line;
  }

  body(): void {
    this.eachStep((st) => this.step(st));
    for (const b of this.s.body) {
      if (b.kind === 'par') {
        b.threads.forEach((th, i) => {
          if (th.length === 0) this.fail({ line: b.line, col: 1 }, `block ${i + 1} of this 'par' has no steps`);
        });
      }
    }
  }

  background(): void {
    for (const ev of this.s.background) {
      const c = ev.call;
      const op = opFor('sys', c.name);
      if (!op) {
        const hint = suggestion(c.name, opNamesFor('sys'));
        this.fail(c.pos, `a background event is a sys operation; '${c.name}' is not one${hint || ` (expected one of ${opNamesFor('sys').join(', ')})`}`, opNamesFor('sys'));
      }
      if (ev.count < 1) this.fail(c.pos, `a background event fires at most N times with N >= 1`);
      this.args(op, c);
    }
  }

  // -- clauses -------------------------------------------------------------

  clauses(): void {
    for (const cl of this.s.clauses) {
      this.pred(cl.pred);
      this.versions(cl.versions);
    }
  }

  resultName(n: Name): void {
    if (this.results.has(n.name)) return;
    const k = this.kindOf(n.name);
    if (k !== undefined) this.fail(n.pos, `'${n.name}' is ${KIND_NOUN[k]}, not a named result`);
    const hint = suggestion(n.name, [...this.results.keys()]);
    this.fail(n.pos, `unknown result '${n.name}'${hint}${hint ? '' : '; a result is named by a step like `r = x[0]`'}`);
  }

  pred(p: Pred): void {
    switch (p.kind) {
      case 'and':
      case 'or':
        this.pred(p.left);
        this.pred(p.right);
        return;
      case 'not':
        this.pred(p.inner);
        return;
      case 'ok':
      case 'skipped':
        this.resultName(p.name);
        return;
      case 'clean':
        return;
      case 'violation': {
        const v = p.violation;
        if ((VIOLATION_KINDS as readonly string[]).includes(v.name)) return;
        const hint = suggestion(v.name, VIOLATION_KINDS);
        this.fail(v.pos, `unknown violation '${v.name}'${hint || `; expected one of ${VIOLATION_KINDS.join(', ')}`}`, [...VIOLATION_KINDS]);
      }
      case 'cmp': {
        if (p.lhs.kind === 'var') this.resultName(p.lhs.name);
        else this.needName(p.lhs.file, ['file'], 'a file');
        const v = p.rhs;
        if (v.kind !== 'name') return;
        if ((ERRNO_NAMES as readonly string[]).includes(v.name) || (SIGNAL_NAMES as readonly string[]).includes(v.name)) return;
        if (this.results.has(v.name)) return;
        const cands = [...ERRNO_NAMES, ...SIGNAL_NAMES, ...this.results.keys()];
        const hint = suggestion(v.name, cands);
        this.fail(v.pos, `unknown value '${v.name}'${hint || "; expected a character like 'a', a number, an errno like EFAULT, SIGSEGV or a result name"}`);
      }
    }
  }
}

function argText(a: Arg): string {
  switch (a.kind) {
    case 'int':
      return String(a.n);
    case 'char':
      return `'${a.ch}'`;
    case 'name':
      return `'${a.name}${a.offset ? `+${a.offset.n}` : ''}'`;
    case 'flags':
      return `'${a.names.map((n) => n.name).join('|')}'`;
  }
}

/** Check a parsed scenario. Throws PinlabSyntaxError at the first semantic error. */
export function checkScenario(s: Scenario): CheckedInfo {
  const c = new Checker(s);
  c.headers();
  c.body();
  c.background();
  c.clauses();
  return { actors: c.actors, processes: c.processes, results: c.results };
}
