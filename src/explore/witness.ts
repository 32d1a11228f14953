// A race's schedule, stepped through with the model's state after every
// transition: what the web page's step view shows for `par` and `background`
// scenarios. A schedule is the explorer's sequence of moves (which thread ran
// its next segment), written down with the line each move ran and whether it
// started that statement, so it can be checked when replayed on another
// profile: a step may take a different number of segments there, and then the
// same schedule does not exist on that profile -- which is said, not papered
// over.

import { Program, callText, type WitnessStep } from './explorer.js';
import { Canonicalizer } from './canon.js';
import { Run, RunError, showResult, type Prepared } from '../interp/interpreter.js';
import { ModelCapacityError, ModelInvariantError, type KnobUse } from '../model/kernel.js';
import { snapshot, type Snapshot } from '../report/snapshot.js';
import type { Profile } from '../profiles/profiles.js';

/** One move of a schedule: thread `thread` (the explorer's slot) runs its next segment, at `line`. */
export interface Move {
  thread: number;
  line: number;
  /** the move starts the statement (rather than continuing one suspended at a preemption point) */
  start: boolean;
}

export interface ScheduleStep {
  /** 1-based transition number */
  n: number;
  thread: number;
  /** "main", "par thread 2", "background" */
  threadName: string;
  actor: string;
  line: number;
  /** the statement as written (comment stripped) */
  text: string;
  /** '' (the whole statement), 'starts', 'continues' or 'finishes' */
  segment: string;
  /** the statement's result when this transition finished it and it has a target */
  result: string | null;
  violations: { kind: string; detail: string }[];
  notes: string[];
  calls: { fn: string; what: string; knobs?: KnobUse[] }[];
  state: Snapshot;
}

export type ScheduleReplay =
  | { ok: true; initial: Snapshot; steps: ScheduleStep[]; numbering: 'allocation' | 'canonical' }
  | { ok: false; initial: Snapshot; at: number; reason: string };

/** The slots of the threads that run each line of the scenario (several background events can share a line). */
function threadsOfLine(prog: Program): Map<number, number[]> {
  const m = new Map<number, number[]>();
  const add = (line: number, slot: number) => m.set(line, [...(m.get(line) ?? []), slot]);
  for (const b of prog.blocks) {
    if (b.kind === 'step') add(b.line, 0);
    else b.threads.forEach((t, i) => t.forEach((st) => add(st.line, 1 + i)));
  }
  prog.bgSteps.forEach((st, e) => add(st.line, 1 + prog.parThreads + e));
  return m;
}

export function threadName(prog: Program, slot: number): string {
  if (slot === 0) return 'main';
  if (slot <= prog.parThreads) return `par thread ${slot}`;
  return prog.bgSteps.length > 1 ? `background ${slot - prog.parThreads}` : 'background';
}

/** The schedule of an explorer witness or counterexample (`ClauseVerdict.trace`). */
export function scheduleOf(pr: Prepared, trace: WitnessStep[]): Move[] {
  const prog = new Program(pr);
  const slots = threadsOfLine(prog);
  // a background event's witness step names its call (explorer.ts replay())
  const bgCall = (slot: number) => callText(prog.bgSteps[slot - 1 - prog.parThreads]!);
  return trace.map((t) => {
    const cands = slots.get(t.line) ?? [];
    const slot = cands.length > 1 ? (cands.find((c) => c > prog.parThreads && t.stmt.endsWith(bgCall(c))) ?? cands[0]!) : (cands[0] ?? -1);
    return { thread: slot, line: t.line, start: t.segment === '' || t.segment === 'starts' };
  });
}

function stmtText(pr: Prepared, line: number): string {
  return (pr.sc.lines[line - 1] ?? '').replace(/#.*$/, '').trim();
}

function describe(prog: Program, pr: Prepared, m: Move): string {
  return `${threadName(prog, m.thread)}'s line ${m.line} (${stmtText(pr, m.line)})`;
}

/**
 * Replay a schedule on a profile with the state after every transition. With
 * `reduce` the states are renumbered as the search renumbers them (folio
 * numbers then follow the explorer's canonical order and may change between
 * transitions); without it folios keep their allocation numbers.
 */
function replayWith(pr: Prepared, profile: Profile, moves: Move[], reduce: boolean): ScheduleReplay {
  const prog = new Program(pr);
  const run = new Run(pr, profile);
  const s = prog.attach(run);
  const kview = run.k.s;
  const canon = reduce ? new Canonicalizer(run.k.L) : null;
  const initial = snapshot(run);
  const steps: ScheduleStep[] = [];
  const en: number[] = [];
  const fail = (i: number, reason: string): ScheduleReplay => ({ ok: false, initial, at: i + 1, reason: `transition ${i + 1}: ${reason}` });
  for (let i = 0; i < moves.length; i++) {
    const m = moves[i]!;
    prog.enabled(s, en);
    if (en.length === 0) return fail(i, `the run has already ended here (the schedule has ${moves.length} transitions, this profile finishes after ${i})`);
    if (!Number.isInteger(m.thread) || m.thread < 0 || m.thread >= prog.nslots) return fail(i, `there is no thread ${m.thread}`);
    const base = prog.slotBase(m.thread);
    const idle = s[base + 1] === 0;
    if (!en.includes(m.thread)) {
      const can = en.map((slot) => `${threadName(prog, slot)} at line ${prog.stepOf(s, slot).line}`).join(', ');
      const blk = prog.blocks[s[0]!];
      const isPar = m.thread > 0 && m.thread <= prog.parThreads;
      if (m.thread === 0 && blk?.kind === 'par')
        return fail(i, `${describe(prog, pr, m)} cannot start: the par block has not finished on this profile (${can} can still run), so a statement in it takes more transitions here`);
      if (isPar && blk?.kind === 'par' && s[prog.slotBase(m.thread)]! >= (blk.threads[m.thread - 1]?.length ?? 0))
        return fail(i, `${describe(prog, pr, m)} cannot run: ${threadName(prog, m.thread)} has already finished on this profile, so a statement in it takes fewer transitions here`);
      if (isPar && blk?.kind !== 'par') return fail(i, `${describe(prog, pr, m)} cannot run: the par block has already finished on this profile, so a statement in it takes fewer transitions here`);
      return fail(i, `${describe(prog, pr, m)} cannot run here on this profile (it waits for a lock another thread holds; ${can} can run)`);
    }
    const st = prog.stepOf(s, m.thread);
    if (st.line !== m.line)
      return fail(i, `${threadName(prog, m.thread)} is at line ${st.line} (${stmtText(pr, st.line)}), not at line ${m.line}: a statement before it took a different number of transitions on this profile`);
    if (idle && !m.start) return fail(i, `line ${m.line} (${stmtText(pr, m.line)}) finished in fewer transitions on this profile`);
    if (!idle && m.start) return fail(i, `line ${m.line} (${stmtText(pr, m.line)}) takes more transitions on this profile`);
    const v0 = run.violations.length;
    const t0 = run.traceLog.length;
    const n0 = run.notes.length;
    let seg: number;
    try {
      seg = prog.advance(run, s, m.thread);
    } catch (e) {
      if (e instanceof RunError || e instanceof ModelInvariantError || e instanceof ModelCapacityError) return fail(i, `line ${m.line}: ${e.message}`);
      throw e;
    }
    const finished = s[base + 1] === 0;
    const target = st.stmt.kind === 'call' ? st.stmt.target?.name : st.stmt.kind === 'load' ? st.stmt.target.name : undefined;
    steps.push({
      n: i + 1,
      thread: m.thread,
      threadName: threadName(prog, m.thread),
      actor: st.actor.name,
      line: st.line,
      text: m.thread > prog.parThreads ? `background ${callText(st)}` : stmtText(pr, st.line),
      segment: seg === 0 && finished ? '' : seg === 0 ? 'starts' : finished ? 'finishes' : 'continues',
      result: finished && target ? String(showResult(pr, run.k, run.result(target))) : null,
      violations: run.violations.slice(v0).map((v) => ({ kind: v.kind, detail: v.detail })),
      notes: run.notes.slice(n0).map((x) => x.msg),
      calls: run.traceLog
        .slice(t0)
        .filter((t) => !t.fn.startsWith('VIOLATION'))
        .map((t) => ({ fn: t.fn, what: t.what, ...(t.knobs ? { knobs: t.knobs } : {}) })),
      state: snapshot(run),
    });
    if (canon) prog.canonicalize(canon, s, kview, { folios: true, pins: true });
  }
  prog.enabled(s, en);
  if (en.length) {
    const rest = en.map((slot) => `${threadName(prog, slot)} at line ${prog.stepOf(s, slot).line}`).join(', ');
    return { ok: false, initial, at: moves.length + 1, reason: `the schedule ends before the run does on this profile (${rest} can still run): a statement takes more transitions here` };
  }
  return { ok: true, initial, steps, numbering: reduce ? 'canonical' : 'allocation' };
}

/** What must agree between the search's (canonical) replay and the one shown with allocation numbers. */
function shape(r: Extract<ScheduleReplay, { ok: true }>): string {
  return JSON.stringify(r.steps.map((s) => [s.thread, s.line, s.segment, s.result, s.violations.map((v) => v.kind), s.calls.length]));
}

/**
 * Replay a schedule on a profile. The moves are validated as the search made
 * them (states renumbered canonically, which decides e.g. how many folios a
 * reclaim walks); the states shown are those of the same moves without the
 * renumbering, so a folio keeps its number from transition to transition,
 * when that replay agrees with the search's transition by transition
 * (segments, results, violations); otherwise the canonical states are shown.
 */
export function replaySchedule(pr: Prepared, profile: Profile, moves: Move[]): ScheduleReplay {
  const truth = replayWith(pr, profile, moves, true);
  if (!truth.ok) return truth;
  const shown = replayWith(pr, profile, moves, false);
  if (shown.ok && shape(shown) === shape(truth)) return shown;
  return truth;
}
