// Semantic checks of a parsed scenario (spec v1): actors, operations and their
// arguments (ops.ts), names, flags, predicates and kernel profiles
// (profiles.ts). checkScenario() throws a positioned PinlabSyntaxError with a
// did-you-mean at the first problem and returns what it learnt about names.

import type { Arg, Call, Name, Pos, Pred, ProfileRef, Scenario, Step, ValueLit, VersionSet } from './ast.js';
import {
  ERRNO_NAMES,
  FOLL_FLAGS,
  LIMITS,
  MADV_ADVICE,
  MAP_FLAGS,
  PAGE_COUNT_ARG,
  PINNING_OPS,
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
import { HPAGE_PMD_NR, Layout, type Dims } from '../model/state.js';

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
  /** steps seen so far, files made so far (declared and at run time), pages mapped so far */
  nSteps = 0;
  nFiles = 0;
  mapped = 0;

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
    s.devices.forEach((d, i) => {
      if (i === LIMITS.devices) this.fail(d.pos, `more than ${LIMITS.devices} devices; that is the limit (docs/limits.md)`);
      this.declare(d, 'device');
      this.actors.set(d.name, 'device');
    });
    s.secondaries.forEach((sec, i) => {
      if (i === LIMITS.secondaries) this.fail(sec.name.pos, `more than ${LIMITS.secondaries} secondary MMUs; that is the limit (docs/limits.md)`);
      this.declare(sec.name, 'secondary');
      this.actors.set(sec.name.name, 'secondary');
    });
    for (const f of s.files) {
      if (++this.nFiles > LIMITS.files) this.fail(f.name.pos, `more than ${LIMITS.files} files; that is the limit (docs/limits.md)`);
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
    if (++this.nSteps > LIMITS.steps) this.fail(st.actor.pos, `more than ${LIMITS.steps} steps; that is the limit (par threads included; docs/limits.md)`);
    const kind = this.actor(st);
    const stmt = st.stmt;
    if (stmt.kind === 'store' || stmt.kind === 'load') {
      if (stmt.index >= LIMITS.pages) this.index(stmt.index, stmt.indexPos);
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
    this.resources(stmt.call);
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
    if (this.processes.length >= LIMITS.processes)
      this.fail(t.pos, `process number ${this.processes.length + 1}: the limit is ${LIMITS.processes} processes, the first one and every fork() child (docs/limits.md)`);
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
    op.params.forEach((p, i) => this.arg(p, call.args[i]!, call, i));
  }

  index(n: number, pos: Pos, what = 'page index'): never {
    this.fail(pos, `${what} ${n} is out of range: it must be below ${LIMITS.pages}, the page limit (docs/limits.md)`);
  }

  /** Files made and pages mapped at run time, against their limits. */
  resources(c: Call): void {
    const pages = (i: number) => {
      const a = c.args[i];
      return a && a.kind === 'int' ? { n: a.n, pos: a.pos } : { n: 0, pos: c.pos };
    };
    const makesFile =
      ['memfd_create', 'memfd_secret', 'memfd_restricted', 'guest_memfd', 'p2pmem'].includes(c.name) ||
      (c.name === 'mmap' && c.args[0]?.kind === 'name' && c.args[0].name === 'anon' && flagList(c.args[3]).includes('MAP_SHARED'));
    if (makesFile && ++this.nFiles > LIMITS.files)
      this.fail(c.pos, `this makes file number ${this.nFiles}; the limit is ${LIMITS.files} files, declared ones, memfds and shared anonymous mappings together (docs/limits.md)`);
    const va = c.name === 'mmap' || c.name === 'mremap' ? pages(1) : c.name === 'guest_memfd' || c.name === 'memfd_restricted' ? pages(0) : null;
    if (va && (this.mapped += va.n) > LIMITS.addressSpace)
      this.fail(va.pos, `with this, the scenario maps ${this.mapped} pages; the limit is ${LIMITS.addressSpace} for all mappings together (docs/limits.md)`);
  }

  arg(p: ParamKind, a: Arg, call: Call, i = -1): void {
    if (a.kind === 'name' && a.offset && !(p === 'mapping' && OFFSET_CALLS.has(call.name)))
      this.fail(a.pos, `'${a.name}+${a.offset.n}' (pages into a mapping) is an address only munmap, mprotect and madvise take`);
    if (a.kind === 'name' && a.offset && a.offset.n >= LIMITS.pages) this.index(a.offset.n, a.offset.pos, 'an offset');
    switch (p) {
      case 'int':
        if (a.kind !== 'int') this.fail(a.pos, `expected a number but found ${argText(a)}`);
        if (PAGE_COUNT_ARG[call.name] === i) {
          if (a.n > LIMITS.pages) this.fail(a.pos, `${call.name} of ${a.n} pages; the limit is ${LIMITS.pages} pages in one call (docs/limits.md)`);
        } else if (a.n >= LIMITS.pages) this.index(a.n, a.pos);
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
    for (const [i, ev] of this.s.background.entries()) {
      const c = ev.call;
      if (i === LIMITS.background) this.fail(c.pos, `more than ${LIMITS.background} background events; that is the limit (docs/limits.md)`);
      const op = opFor('sys', c.name);
      if (!op) {
        const hint = suggestion(c.name, opNamesFor('sys'));
        this.fail(c.pos, `a background event is a sys operation; '${c.name}' is not one${hint || ` (expected one of ${opNamesFor('sys').join(', ')})`}`, opNamesFor('sys'));
      }
      if (ev.count < 1) this.fail(c.pos, `a background event fires at most N times with N >= 1`);
      this.args(op, c);
      this.resources(c);
    }
  }

  /** The model's state for this scenario fits LIMITS.modelWords; else the step where it stops fitting. */
  modelSize(info: CheckedInfo): void {
    const items = sizingItems(this.s);
    const words = (n: number) => new Layout(modelDims(this.s, info, n)).size;
    if (words(items.length) <= LIMITS.modelWords) return;
    // the first prefix that does not fit (each prefix needs at least as much as the one before)
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (words(mid + 1) > LIMITS.modelWords) hi = mid;
      else lo = mid + 1;
    }
    const it = items[lo]!;
    const pos = it.call?.pos ?? it.pos;
    const mib = (words(items.length) * 4) / 2 ** 20;
    this.fail(
      pos,
      `the model of this scenario would need ${mib.toFixed(0)} MiB of state from this ${it.bg ? 'background event' : 'step'} on; the limit is ${(LIMITS.modelWords * 4) / 2 ** 20} MiB (fewer pages, steps or processes; docs/limits.md)`,
    );
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

function flagList(a: Arg | undefined): string[] {
  return !a ? [] : a.kind === 'name' ? [a.name] : a.kind === 'flags' ? a.names.map((n) => n.name) : [];
}

/** Check a parsed scenario. Throws PinlabSyntaxError at the first semantic error. */
export function checkScenario(s: Scenario): CheckedInfo {
  const c = new Checker(s);
  c.headers();
  c.body();
  c.background();
  c.clauses();
  const info = { actors: c.actors, processes: c.processes, results: c.results };
  c.modelSize(info);
  return info;
}

// ---------------------------------------------------------------------------
// the model's table sizes

/** What the sizing walks: background events (each may fire `count` times, at any point), then the steps in written order. */
interface SizingItem {
  call: Call | null;
  /** x[i] = v / r = x[i] */
  index?: number;
  times: number;
  bg: boolean;
  pos: Pos;
}

function sizingItems(sc: Scenario): SizingItem[] {
  const out: SizingItem[] = sc.background.map((b) => ({ call: b.call, times: b.count, bg: true, pos: b.call.pos }));
  const step = (st: Step) =>
    out.push(st.stmt.kind === 'call' ? { call: st.stmt.call, times: 1, bg: false, pos: st.actor.pos } : { call: null, index: st.stmt.index, times: 1, bg: false, pos: st.actor.pos });
  for (const b of sc.body) {
    if (b.kind === 'step') step(b);
    else for (const th of b.threads) th.forEach(step);
  }
  return out;
}

/**
 * The sizes of the model's tables for a scenario (the interpreter's Prepared uses them): large
 * enough for anything the scenario can do, on any profile and in any interleaving the explorer
 * tries, so the model never runs out of room. `upTo` sizes only the first items (background
 * events, then steps), for the checker to point at the step that makes the state too large.
 *
 * Folio slots are never reused (state.ts), so the folio table holds every allocation of the run:
 *  - a page a step touches (its page count, or 1) can allocate at most a page-cache or swap-in folio,
 *    a COW copy, an unshare copy and a long-term pin's migration target -- 4, each a THP's
 *    HPAGE_PMD_NR slots at most; in a scenario the explorer runs, each other step or background
 *    firing may undo a step's work in the middle (zap, reclaim, migrate), so it may be redone once
 *    per such event;
 *  - fork() copies (early COW) at most every page ever pinned, and no more than the address space
 *    holds, HPAGE_PMD_NR slots each (a pinned THP is split and copied page by page);
 *  - compact() migrates every live folio, and live folios are never more than twice everything
 *    the other allocations made (a migration replaces one; the old one may live on while referenced);
 *  - the huge zero folio, and a margin.
 * Swap slots: each reclaim() or MADV_PAGEOUT swaps out at most every folio something references
 * (a PTE, a pin, a page-cache slot).
 */
export function modelDims(sc: Scenario, info: CheckedInfo, upTo = Infinity): Dims {
  const HP = HPAGE_PMD_NR;
  const items = sizingItems(sc);
  const n = Math.min(upTo, items.length);
  const concurrent = sc.body.some((b) => b.kind === 'par') || sc.background.length > 0;
  let va = 1; // address space: global, PMD-aligned ranges
  let reach = 1; // how far past a mapping's start an index, offset or range goes
  let filePages = 1;
  let files = sc.files.length;
  let pins = 2;
  let pinPages = HP;
  let work = 0; // pages touched, summed over steps and firings
  let pinned = 0; // pages a step may have pinned (or referenced for DMA), summed
  let forks = 0;
  let compacts = 0;
  let swaps = 0;
  let firings = 0;
  for (const f of sc.files) filePages = Math.max(filePages, f.pages + 1);
  for (let k = 0; k < n; k++) {
    const it = items[k]!;
    firings += it.times;
    const c = it.call;
    if (!c) {
      work += it.times;
      reach = Math.max(reach, (it.index ?? 0) + 1);
      continue;
    }
    const pc = PAGE_COUNT_ARG[c.name];
    let pages = 0;
    c.args.forEach((a, i) => {
      if (a.kind === 'int') {
        if (i === pc) pages = a.n;
        else reach = Math.max(reach, a.n + 1);
        filePages = Math.max(filePages, a.n + 2);
      }
    });
    const off = c.args.find((a): a is Extract<Arg, { kind: 'name' }> => a.kind === 'name' && a.offset !== undefined)?.offset?.n ?? 0;
    reach = Math.max(reach, off + pages + 1);
    work += Math.max(1, pages) * it.times;
    switch (c.name) {
      case 'mmap':
        va += pages + HP - 1;
        if (c.args[0]?.kind === 'name' && c.args[0].name === 'anon' && flagList(c.args[3]).includes('MAP_SHARED')) files++;
        break;
      case 'mremap':
        va += pages + HP - 1;
        break;
      case 'memfd_create':
      case 'memfd_secret':
      case 'p2pmem':
        files++;
        break;
      case 'memfd_restricted':
      case 'guest_memfd':
        files++;
        va += pages + HP - 1;
        break;
      case 'fork':
        forks += it.times;
        break;
      case 'compact':
        compacts += it.times;
        break;
      case 'reclaim':
        swaps += it.times;
        break;
      case 'madvise':
        if (flagList(c.args[2]).includes('MADV_PAGEOUT')) swaps += it.times;
        break;
    }
    pins += it.times; // a step takes one reference set at most (GUP, vmsplice, O_DIRECT, process_vm_writev ...)
    if (PINNING_OPS.has(c.name)) pinPages = Math.max(pinPages, pages);
    pinned += (PINNING_OPS.has(c.name) ? pages : 1) * it.times;
  }
  const procs = Math.max(1, info.processes.length);
  const vpages = va + reach + HP;
  const redo = 1 + (concurrent ? firings : 0);
  const made = 32 + 2 * HP + 4 * HP * work * redo + forks * (HP * Math.min(pinned, va) + 4 * HP) * redo;
  const folios = made + compacts * 2 * made;
  const referenced = procs * vpages + pins * pinPages + (files + 1) * filePages;
  return {
    procs,
    vpages,
    folios,
    files: Math.max(1, files),
    filePages,
    pins,
    pinPages,
    secondaries: sc.secondaries.length,
    swapSlots: swaps ? 4 + swaps * Math.min(2 * made + compacts * made, referenced) : 1,
    results: Math.max(1, info.results.size),
  };
}
