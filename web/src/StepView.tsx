// The step view: one or two profiles stepped through the same story, each
// step's state drawn as a diagram, differences between the two marked. For a
// race the story is a schedule the explorer found (a clause's shortest witness
// or counterexample): one transition per thread segment, replayed on the other
// profile when that profile has a run of the same schedule. Each trace line
// names the knobs the model consulted; each knob chip links to the steps where
// that knob decided something.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { KnobDiff, KnobRef, Move, ProfileRun, Snapshot, Step, StepsResult, TraceEntry } from './api.js';
import { api, hexPage, pageOfAddr } from './api.js';
import { Diagram } from './Diagram.js';
import { diffSnapshots, keyLabel } from './diff.js';
import { VIOLATION_MEANING, composeDiff, foliosNamed } from './model.js';

interface Props {
  text: string;
  profiles: string[];
  runs: ProfileRun[];
  knobDiffs: KnobDiff[];
  profA: string;
  profB: string;
  setProfA: (p: string) => void;
  setProfB: (p: string) => void;
  idx: number;
  setIdx: (i: number) => void;
  /** jump to the violation raised at this line once the steps are loaded */
  jump: { line: number; seq: number } | null;
  /** the matrix asked for a clause's witness or counterexample (profile, clause line) */
  schedPick: { profile: string; line: number; seq: number } | null;
  /** the scenario races: the story is a schedule of the explorer */
  concurrent: boolean;
  onActive: (line: number | null, violation: boolean) => void;
}

/** A schedule the step view can show: a clause's witness or counterexample on a profile, or the written order. */
interface SchedOpt {
  key: string;
  label: string;
  moves: Move[] | null;
}

/** Schedules of the shown profiles' explorations, then the written order. */
function scheduleOptions(runs: ProfileRun[], profs: string[]): SchedOpt[] {
  const out: SchedOpt[] = [];
  for (const p of profs) {
    const r = runs.find((x) => x.kernel === p);
    for (const c of r?.checks ?? []) {
      if (!c.schedule || !c.traceKind) continue;
      out.push({ key: `${p}:${c.line}`, label: `${p}: shortest ${c.traceKind} of line ${c.line} (${c.schedule.length} transitions)`, moves: c.schedule });
    }
  }
  out.push({ key: 'written', label: 'written order (par threads one after another)', moves: null });
  return out;
}

/** knob chips shown before "N more…" */
const KNOB_CHIPS = 10;

type Loaded = { key: string; res: StepsResult } | { key: string; error: string } | null;

function useSteps(text: string, kernel: string, sched: SchedOpt | null): Loaded {
  const [state, setState] = useState<Loaded>(null);
  const key = kernel + '\u0000' + text + '\u0000' + (sched?.key ?? '');
  useEffect(() => {
    if (!kernel || !text) {
      setState(null);
      return;
    }
    const ac = new AbortController();
    api
      .steps(text, kernel, sched?.moves ?? null, ac.signal)
      .then((res) => setState({ key, res }))
      .catch((e: unknown) => {
        if (!ac.signal.aborted) setState({ key, error: String(e) });
      });
    return () => ac.abort();
  }, [key]);
  return state;
}

interface StepsData {
  steps: Step[];
  initial: Snapshot | null;
  note?: string;
  error?: string;
  /** a schedule this profile has no run of, and why */
  noReplay?: string;
}

function stepsOf(l: Loaded): StepsData {
  if (!l) return { steps: [], initial: null };
  if ('error' in l) return { steps: [], initial: null, error: l.error };
  if (!l.res.ok) return { steps: [], initial: null, error: l.res.error.message };
  return {
    steps: l.res.steps,
    initial: l.res.initial,
    ...(l.res.note ? { note: l.res.note } : {}),
    ...(l.res.error ? { error: l.res.error.message } : {}),
    ...(l.res.replayed === false ? { noReplay: l.res.reason ?? 'the schedule cannot be replayed here' } : {}),
  };
}

/** What a step's kernel path did (not the knobs it consulted, whose values differ between profiles by definition). */
const pathOf = (st: Step) => JSON.stringify(st.trace.map((t) => [t.fn, t.what]));

/** 1-based step numbers whose trace consulted each knob, over the steps of both profiles. */
function knobSteps(lists: Step[][]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const steps of lists)
    steps.forEach((st, k) => {
      for (const t of st.trace)
        for (const kn of t.knobs ?? []) {
          const l = m.get(kn.name) ?? [];
          if (!l.includes(k + 1)) l.push(k + 1);
          m.set(kn.name, l);
        }
    });
  for (const l of m.values()) l.sort((a, b) => a - b);
  return m;
}

/** A trace line: the function, what it did, and the knobs it went through (with this profile's values). */
function TraceLine(props: { t: TraceEntry; profile: string; diffKnobs: Set<string>; focus: string | null }) {
  const { t } = props;
  return (
    <div class="trace-line">
      <span class="fn mono">{t.fn}</span> {t.what}
      {t.knobs && t.knobs.length > 0 && (
        <span class="tknobs">
          {t.knobs.map((kn, j) => [
            j > 0 ? ' ' : null,
            <span
              key={kn.name}
              class={'tknob mono' + (kn.on ? ' on' : ' off') + (props.diffKnobs.has(kn.name) ? ' differs' : '') + (props.focus === kn.name ? ' focus' : '')}
              data-testid={`tknob-${kn.name}`}
              title={`${kn.name} is ${kn.on ? 'on' : 'off'} on ${props.profile}${kn.commit ? ` (${kn.commit})` : ''}${props.diffKnobs.has(kn.name) ? ': it differs between the two profiles' : ''}`}
            >
              {kn.on ? '' : '!'}
              {kn.name}
            </span>,
          ])}
        </span>
      )}
    </div>
  );
}

/** Folio id -> the words of the violation detail that name it ("device wrote", "A maps"). */
function markedFolios(step: Step | null): Map<number, string> {
  const m = new Map<number, string>();
  if (!step) return m;
  for (const v of step.violations) {
    const ids = foliosNamed(v.detail);
    for (const id of ids) {
      // two folios in one detail are a contrast ("the device wrote folio #1 but A maps folio #2"): label each
      const re = new RegExp(`(\\S+\\s+\\S+)\\s+(?:folio\\s+|page\\s+)?#${id}\\b`);
      const r = ids.length > 1 ? re.exec(v.detail) : null;
      if (!m.has(id)) m.set(id, r ? r[1]!.replace(/^the\s+/, '') : '');
    }
  }
  return m;
}

export function StepView(props: Props) {
  const { text, profiles, knobDiffs, profA, profB, idx, setIdx } = props;
  const schedOpts = useMemo(() => (props.concurrent ? scheduleOptions(props.runs, [profA, profB].filter(Boolean)) : []), [props.runs, props.concurrent, profA, profB]);
  /** the schedule the reader picked ('' = the first witness or counterexample of the profiles shown) */
  const [schedKey, setSchedKey] = useState<string>('');
  const sched = props.concurrent ? (schedOpts.find((o) => o.key === schedKey) ?? schedOpts[0] ?? null) : null;
  useEffect(() => setSchedKey(''), [text]);
  // the matrix asked for a clause's witness or counterexample
  const picked = useRef(0);
  useEffect(() => {
    const p = props.schedPick;
    if (!p || picked.current === p.seq) return;
    const o = schedOpts.find((x) => x.key === `${p.profile}:${p.line}`);
    if (!o) return;
    picked.current = p.seq;
    setSchedKey(o.key);
    setIdx(0);
  }, [props.schedPick?.seq, schedOpts]);
  const la = useSteps(text, profA, sched);
  const lb = useSteps(text, profB, sched);
  const scheduled = !!sched?.moves;
  const [focusKnob, setFocusKnob] = useState<string | null>(null);
  useEffect(() => setFocusKnob(null), [text, profA, profB]);
  const stepsKey = (p: string) => p + '\u0000' + text + '\u0000' + (sched?.key ?? '');
  const A = stepsOf(la);
  const B = profB ? stepsOf(lb) : null;
  const n = Math.max(A.steps.length, B?.steps.length ?? 0);
  const i = Math.min(idx, n);
  const stepA = i > 0 ? (A.steps[i - 1] ?? null) : null;
  const stepB = B && i > 0 ? (B.steps[i - 1] ?? null) : null;
  const snapA = stepA ? stepA.state : A.initial;
  const snapB = B ? (stepB ? stepB.state : B.initial) : null;
  const cur = stepA ?? stepB;

  useEffect(() => {
    if (i !== idx && n > 0) setIdx(i);
  }, [i, idx, n]);

  useEffect(() => {
    props.onActive(cur ? cur.line : null, !!(stepA?.violations.length || stepB?.violations.length));
  }, [cur?.line, stepA, stepB]);

  // a jump request from the matrix: the first step at that line that raised a violation
  const jumped = useRef(0);
  useEffect(() => {
    const j = props.jump;
    if (!j || jumped.current === j.seq || !A.steps.length || la === null || la.key !== stepsKey(profA)) return;
    jumped.current = j.seq;
    const k = A.steps.findIndex((s) => s.line === j.line && s.violations.length > 0);
    const k2 = k >= 0 ? k : A.steps.findIndex((s) => s.line === j.line);
    if (k2 >= 0) setIdx(k2 + 1);
  }, [props.jump?.seq, A.steps]);

  const diffA = useMemo(() => (snapA && snapB ? diffSnapshots(snapA, snapB, profB) : null), [snapA, snapB]);
  const diffB = useMemo(() => (snapA && snapB ? diffSnapshots(snapB, snapA, profA) : null), [snapA, snapB]);
  const firstViol = A.steps.findIndex((s) => s.violations.length > 0);
  const firstViolB = B ? B.steps.findIndex((s) => s.violations.length > 0) : -1;
  const knobs = profB ? composeDiff(profiles, knobDiffs, profA, profB) : null;
  const [allKnobs, setAllKnobs] = useState(false);
  const consulted = useMemo(() => knobSteps([A.steps, B?.steps ?? []]), [A.steps, B?.steps]);
  const diffKnobs = useMemo(() => new Set([...(knobs?.added ?? []), ...(knobs?.removed ?? [])].map((k) => k.name)), [knobs]);
  // knobs that decided something in these steps first
  const chips = useMemo(() => {
    const all: { k: KnobRef; op: string }[] = [...(knobs?.added ?? []).map((k) => ({ k, op: '+' })), ...(knobs?.removed ?? []).map((k) => ({ k, op: '−' }))];
    return [...all.filter((c) => consulted.has(c.k.name)), ...all.filter((c) => !consulted.has(c.k.name))];
  }, [knobs, consulted]);
  const loading = la === null || la.key !== stepsKey(profA) || (!!profB && (lb === null || lb.key !== stepsKey(profB)));
  // the first step after which the two profiles' results, kernel paths or states part ways (once both are loaded)
  const divergent = useMemo(() => {
    const out: boolean[] = [];
    if (!B || A.noReplay || B.noReplay || loading) return out;
    for (let k = 0; k < n; k++) {
      const a = A.steps[k];
      const b = B.steps[k];
      out.push(
        !a ||
          !b ||
          a.result !== b.result ||
          pathOf(a) !== pathOf(b) ||
          diffSnapshots(a.state, b.state, '').size > 0 ||
          diffSnapshots(b.state, a.state, '').size > 0,
      );
    }
    return out;
  }, [A.steps, B?.steps, loading]);
  const firstDiv = divergent.indexOf(true);
  const diverge = firstDiv >= 0 ? { k: firstDiv } : null;

  // keyboard: left/right arrows step when focus is not in the editor
  useEffect(() => {
    const h = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === 'TEXTAREA' || t.tagName === 'INPUT' || t.tagName === 'SELECT')) return;
      if (e.key === 'ArrowRight') setIdx(Math.min(n, i + 1));
      else if (e.key === 'ArrowLeft') setIdx(Math.max(0, i - 1));
    };
    window.addEventListener('keydown', h);
    return () => window.removeEventListener('keydown', h);
  }, [i, n]);

  const unit = scheduled ? 'transition' : 'step';

  return (
    <section class="steps" data-testid="step-view">
      <div class="step-controls">
        <label>
          profile{' '}
          <select data-testid="step-profile-a" value={profA} onChange={(e) => props.setProfA((e.currentTarget as HTMLSelectElement).value)}>
            {profiles.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <label>
          side by side with{' '}
          <select data-testid="step-profile-b" value={profB} onChange={(e) => props.setProfB((e.currentTarget as HTMLSelectElement).value)}>
            <option value="">(none)</option>
            {profiles
              .filter((p) => p !== profA)
              .map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
          </select>
        </label>
        <button data-testid="step-prev" disabled={i <= 0} onClick={() => setIdx(Math.max(0, i - 1))} title="previous step (←)">
          ◀ Prev
        </button>
        <input
          type="range"
          data-testid="step-slider"
          min={0}
          max={n}
          value={i}
          onInput={(e) => setIdx(Number((e.currentTarget as HTMLInputElement).value))}
        />
        <button data-testid="step-next" disabled={i >= n} onClick={() => setIdx(Math.min(n, i + 1))} title="next step (→)">
          Next ▶
        </button>
        <span class="step-pos" data-testid="step-pos">
          {i === 0 ? `before ${unit} 1` : `${unit} ${i} / ${n}`}
        </span>
        {(firstViol >= 0 || firstViolB >= 0) && (
          <button
            class="jump"
            data-testid="step-jump-violation"
            onClick={() => setIdx((firstViol >= 0 ? firstViol : firstViolB) + 1)}
          >
            ⚠ go to the violation
          </button>
        )}
        {loading && <span class="muted">loading…</span>}
      </div>
      {props.concurrent && (
        <div class="schedline" data-testid="schedule">
          <label>
            schedule{' '}
            <select data-testid="schedule-picker" value={sched?.key ?? ''} onChange={(e) => {
              setSchedKey((e.currentTarget as HTMLSelectElement).value);
              setIdx(0);
            }}>
              {schedOpts.map((o) => (
                <option key={o.key} value={o.key}>
                  {o.label}
                </option>
              ))}
            </select>
          </label>
          <span class="muted">
            {scheduled
              ? 'one transition per thread segment: a thread runs to its next preemption point; the other profile replays the same moves'
              : 'a race in written order is one schedule among those explored; pick a witness or counterexample to see the one the explorer found'}
          </span>
        </div>
      )}
      {knobs && (
        <div class="knobline" data-testid="step-knobs">
          <span>
            knobs of <b class="mono">{profB}</b> vs <b class="mono">{profA}</b>
            {knobs.added.length + knobs.removed.length === 0 ? ': the same' : ':'}
          </span>
          {chips.slice(0, allKnobs ? undefined : KNOB_CHIPS).map(({ k, op }) => {
            const at = consulted.get(k.name) ?? [];
            return (
              <span
                key={op + k.name}
                class={'knobchip ' + (op === '+' ? 'add' : 'rm') + (at.length ? ' consulted' : ' unused') + (focusKnob === k.name ? ' focus' : '')}
                data-testid={`knobchip-${k.name}`}
                title={`${k.commit} ${k.title}\n${at.length ? `consulted at ${unit} ${at.join(', ')}` : `not consulted in these ${unit}s`}`}
              >
                {op}
                {k.name} {/^[0-9a-f]{7,40}$/.test(k.commit) && <span class="mono muted">{k.commit}</span>}
                {at.length > 0 && (
                  <span class="knob-steps">
                    {' → '}
                    {at.slice(0, 6).map((st) => (
                      <button
                        key={st}
                        class={'linkish' + (st === i ? ' here' : '')}
                        data-testid={`knob-step-${k.name}-${st}`}
                        title={`${unit} ${st}: where ${k.name} decided something`}
                        onClick={() => {
                          setFocusKnob(k.name);
                          setIdx(st);
                        }}
                      >
                        {st}
                      </button>
                    ))}
                    {at.length > 6 && <span class="muted"> +{at.length - 6}</span>}
                  </span>
                )}
              </span>
            );
          })}
          {knobs.added.length + knobs.removed.length > KNOB_CHIPS && (
            <button class="linkish" onClick={() => setAllKnobs(!allKnobs)}>
              {allKnobs ? 'fewer' : `${knobs.added.length + knobs.removed.length - KNOB_CHIPS} more…`}
            </button>
          )}
        </div>
      )}
      {B && diverge && (
        <Divergence
          k={diverge.k}
          a={A.steps[diverge.k]}
          b={B.steps[diverge.k]}
          profA={profA}
          profB={profB}
          unit={unit}
          diffKnobs={diffKnobs}
          focus={focusKnob}
          current={i === diverge.k + 1}
          go={() => setIdx(diverge.k + 1)}
        />
      )}
      <div class="step-body">
        <ol class="story" data-testid="story">
          <li class={'story-step' + (i === 0 ? ' current' : '')} onClick={() => setIdx(0)}>
            <span class="lineno"> </span>
            <span class="muted stext">initial state</span>
          </li>
          {Array.from({ length: n }, (_, k) => {
            const a = A.steps[k];
            const b = B?.steps[k];
            const s = (a ?? b)!;
            const va = !!a?.violations.length;
            const vb = !!b?.violations.length;
            const differs = !!divergent[k];
            const ra = a?.result ?? '';
            const rb = b?.result ?? '';
            return (
              <li
                key={k}
                class={'story-step' + (s.thread !== undefined ? ' sched' : '') + (k + 1 === i ? ' current' : '') + (va || vb ? ' viol' : '') + (k === firstDiv ? ' first-div' : '')}
                data-testid={`story-step-${k + 1}`}
                onClick={() => setIdx(k + 1)}
                title={s.text}
              >
                <span class="lineno">{s.line}</span>
                {s.thread !== undefined && (
                  <span class="thread-tag" title={s.thread} data-testid={`story-thread-${k + 1}`}>
                    {s.thread === 'main' ? 'main' : s.thread.replace(/^par thread /, 't').replace(/^background ?/, 'bg')}
                  </span>
                )}
                <span class="mono stext">{s.text}</span>
                {s.thread !== undefined && <span class="seg">{s.segment}</span>}
                <span class="story-res mono" title={B ? `${profA}: ${ra || '—'}   ${profB}: ${rb || '—'}` : ra}>
                  {!B || ra === rb ? ra : `${ra || '—'} ≠ ${rb || '—'}`}
                </span>
                <span class="story-flags">
                  {(va || vb) && (
                    <span class="res bad" title={B ? `violation on ${[va && profA, vb && profB].filter(Boolean).join(' and ')}` : 'violation'}>
                      ⚠{B ? (va && vb ? '' : va ? 'a' : 'b') : ''}
                    </span>
                  )}
                  {differs && (
                    <span class="neq" title={`${profA} and ${profB} differ after this step`}>
                      ≠
                    </span>
                  )}
                </span>
              </li>
            );
          })}
        </ol>
        <div class={'sides' + (B ? ' two' : '')}>
          <Side
            label="a"
            profile={profA}
            data={A}
            step={i > 0 ? stepA : null}
            i={i}
            n={n}
            unit={unit}
            snap={snapA}
            diff={diffA}
            otherName={B ? profB : null}
            runs={props.runs}
            diffKnobs={diffKnobs}
            focus={focusKnob}
          />
          {B && (
            <Side
              label="b"
              profile={profB}
              data={B}
              step={i > 0 ? stepB : null}
              i={i}
              n={n}
              unit={unit}
              snap={snapB}
              diff={diffB}
              otherName={profA}
              runs={props.runs}
              diffKnobs={diffKnobs}
              focus={focusKnob}
            />
          )}
        </div>
      </div>
      <Legend />
    </section>
  );
}

function Side(props: {
  label: string;
  profile: string;
  data: StepsData;
  step: Step | null;
  i: number;
  n: number;
  unit: string;
  snap: Snapshot | null;
  diff: ReturnType<typeof diffSnapshots> | null;
  otherName: string | null;
  runs: ProfileRun[];
  diffKnobs: Set<string>;
  focus: string | null;
}) {
  const { profile, data, step, snap, i } = props;
  const marked = useMemo(() => markedFolios(step), [step]);
  // processes a later fork() creates are not drawn before it
  const unborn = useMemo(() => {
    const u = new Set<string>();
    data.steps.forEach((st, k) => {
      const m = /^\s*\w+\s*:\s*(\w+)\s*=\s*fork\s*\(/.exec(st.text);
      if (m && i < k + 1) u.add(m[1]!);
    });
    return u;
  }, [data.steps, i]);
  const run = props.runs.find((r) => r.kernel === profile);
  const names = useMemo(() => {
    const m = new Map<number, string>();
    for (const [name, v] of Object.entries(run?.values ?? {})) {
      const pg = pageOfAddr(v);
      if (pg != null && !m.has(pg)) m.set(pg, name);
    }
    return m;
  }, [run]);
  return (
    <div class="side" data-testid={`side-${props.label}`} data-profile={profile}>
      <div class="side-head">
        <span class="side-prof">{profile}</span>
        {data.noReplay ? (
          <span class="muted"> has no run of this schedule</span>
        ) : i === 0 ? (
          <span class="muted"> before the story starts</span>
        ) : step ? (
          <span>
            {' '}
            after {props.unit} {i}
            {step.thread !== undefined ? ` of ${props.n} (${step.thread}${step.segment ? `, ${step.segment}` : ''})` : ''}, line {step.line}: <span class="mono">{step.text}</span>
            {step.result != null && (
              <span class="mono">
                {' '}
                → <b>{step.result}</b>
              </span>
            )}
          </span>
        ) : (
          <span class="muted"> has no {props.unit} {i}</span>
        )}
      </div>
      {data.noReplay && (
        <div class="side-note no-replay" data-testid="no-replay">
          {profile} has no run of this schedule, so nothing is drawn for it: {data.noReplay}.
        </div>
      )}
      {data.error && (
        <div class="side-error" data-testid="steps-error">
          {data.error}
        </div>
      )}
      {run?.error && !(data.error ?? '').includes(run.error) && <div class="side-error">{run.error}</div>}
      {data.note && <div class="side-note">{data.note}</div>}
      {step && step.violations.length > 0 && (
        <div class="violation-banner" data-testid="step-violation" data-profile={profile}>
          {step.violations.map((v, k) => (
            <div key={k}>
              <div>
                <span class="vk">⚠ {v.kind}</span> at line {step.line}: {v.detail}
              </div>
              {VIOLATION_MEANING[v.kind] && <div class="vmeaning">{v.kind}: {VIOLATION_MEANING[v.kind]}</div>}
            </div>
          ))}
        </div>
      )}
      {snap && (!step || step.violations.length === 0) && snap.violations.length > 0 && (
        <div class="viol-sofar">violations raised so far: {snap.violations.join(', ')}</div>
      )}
      {step && (step.trace.length > 0 || step.notes.length > 0) && (
        <div class="trace" data-testid={`trace-${props.label}`}>
          <div class="trace-title">what the kernel did</div>
          {step.trace.map((t, k) => (
            <TraceLine key={k} t={t} profile={profile} diffKnobs={props.diffKnobs} focus={props.focus} />
          ))}
          {step.notes.map((t, k) => (
            <div key={'n' + k} class="trace-line note">
              note: {t}
            </div>
          ))}
        </div>
      )}
      {step && step.trace.length === 0 && step.notes.length === 0 && <div class="trace muted">no kernel path of note in this step</div>}
      {snap && !data.noReplay && (
        <Diagram
          testid={`diagram-${props.label}`}
          profile={profile}
          snap={snap}
          step={step}
          diff={props.diff}
          otherName={props.otherName}
          marked={marked}
          names={names}
          unborn={unborn}
        />
      )}
    </div>
  );
}

/** Where the two profiles part ways: the step and what each kernel did there. */
function Divergence(props: {
  k: number;
  a: Step | undefined;
  b: Step | undefined;
  profA: string;
  profB: string;
  unit: string;
  diffKnobs: Set<string>;
  focus: string | null;
  current: boolean;
  go: () => void;
}) {
  const { a, b } = props;
  const s = a ?? b;
  const stateDiff = useMemo(() => (a && b ? [...diffSnapshots(a.state, b.state, props.profB)] : []), [a, b]);
  if (!s) return null;
  const lines = (st: Step | undefined, profile: string) =>
    !st ? (
      <div class="muted">no such {props.unit}</div>
    ) : st.trace.length ? (
      st.trace.map((t, k) => <TraceLine key={k} t={t} profile={profile} diffKnobs={props.diffKnobs} focus={props.focus} />)
    ) : (
      <div class="muted">no kernel path of note{st.result != null ? ` (→ ${st.result})` : ''}</div>
    );
  return (
    <div class={'divergence' + (props.current ? ' current' : '')} data-testid="divergence">
      <div class="div-head">
        <b>
          {props.profA} and {props.profB} part ways at {props.unit} {props.k + 1}
        </b>
        , line {s.line}: <span class="mono">{s.text}</span>{' '}
        {!props.current && (
          <button class="linkish" onClick={props.go}>
            show
          </button>
        )}
      </div>
      <div class="div-cols">
        <div>
          <span class="side-prof">{props.profA}</span> {lines(a, props.profA)}
        </div>
        <div>
          <span class="side-prof">{props.profB}</span> {lines(b, props.profB)}
        </div>
      </div>
      {stateDiff.length > 0 && (
        <div class="div-state">
          state after it ({props.profA} ↔ {props.profB}):{' '}
          {stateDiff.slice(0, 6).map(([k, d], i) => (
            <span key={k}>
              {i > 0 && '; '}
              <b>{keyLabel(k, hexPage)}</b> {d}
            </span>
          ))}
          {stateDiff.length > 6 && ` (+${stateDiff.length - 6} more)`}
        </div>
      )}
    </div>
  );
}

function Legend() {
  return (
    <div class="legend">
      <span>
        <span class="pbadge on">P</span>
        <span class="pbadge on">W</span>
        <span class="pbadge on">D</span> PTE present / writable / dirty (grey = clear)
      </span>
      <span>
        <svg width="34" height="10">
          <line x1="0" y1="5" x2="34" y2="5" class="lg-pte" />
        </svg>{' '}
        writable mapping
      </span>
      <span>
        <svg width="34" height="10">
          <line x1="0" y1="5" x2="34" y2="5" class="lg-pte-ro" />
        </svg>{' '}
        read-only mapping
      </span>
      <span>
        <svg width="34" height="10">
          <line x1="0" y1="5" x2="34" y2="5" class="lg-pin" />
        </svg>{' '}
        pin / reference
      </span>
      <span>
        <svg width="34" height="10">
          <line x1="0" y1="5" x2="34" y2="5" class="lg-slot" />
        </svg>{' '}
        page cache
      </span>
      <span>
        ref / map / pin = refcount, mapcount, pincount · <span class="badge excl">excl</span> PageAnonExclusive
      </span>
      <span>
        <span class="neq">≠</span> differs from the other profile · <span class="legend-marked">red</span> named by the violation
      </span>
    </div>
  );
}
