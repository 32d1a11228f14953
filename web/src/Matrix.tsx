// The outcome matrix: profiles as columns; rows for the outcome, each named
// value, each violation kind and each clause. Between adjacent profile headers
// a Δ marker shows (on hover or focus) the knobs that differ and their commits;
// it asks the server (/api/bisect) which of them change this scenario and marks
// those, with what each changes and whether they act only together.

import { useEffect, useState } from 'preact/hooks';
import type { BisectResult, KnobDiff, Limits, ProfileRun } from './api.js';
import { VIOLATION_MEANING, boundText, outcomeKey, showValue, summarize, type RunSummary } from './model.js';

interface Props {
  profiles: string[];
  runs: ProfileRun[];
  knobDiffs: KnobDiff[];
  stale: boolean;
  /** the scenario races (par/background): outcomes come from the explorer */
  concurrent: boolean;
  selected: string[];
  onPickProfile: (p: string) => void;
  onGotoLine: (line: number, profile: string) => void;
  /** step through a clause's witness or counterexample on a profile */
  onPickSchedule: (profile: string, line: number) => void;
  limits?: Limits;
  /** which of the differing knobs change this scenario (the server's bisect; the caller caches) */
  bisect?: (from: string, to: string) => Promise<BisectResult>;
}

/** What the page knows of a boundary's deciding knobs. */
export type Deciding = 'loading' | BisectResult | { failed: string };

export function Matrix({ profiles, runs, knobDiffs, stale, concurrent, selected, onPickProfile, onGotoLine, onPickSchedule, limits, bisect }: Props) {
  const [tip, setTipState] = useState<{ i: number; x: number; y: number } | null>(null);
  // what is known of each boundary's deciding knobs, for these runs (a new run starts afresh)
  const [found, setFound] = useState<{ of: ProfileRun[]; m: Record<string, Deciding> }>({ of: runs, m: {} });
  const deciding = found.of === runs ? found.m : {};
  const ask = (from: string, to: string) => {
    const key = from + '|' + to;
    if (!bisect || deciding[key]) return;
    const of = runs;
    const put = (v: Deciding) => setFound((f) => (f.of === of ? { of, m: { ...f.m, [key]: v } } : f));
    setFound((f) => ({ of, m: { ...(f.of === of ? f.m : {}), [key]: 'loading' } }));
    bisect(from, to).then(
      (r) => put(r),
      (e: unknown) => put({ failed: e instanceof Error ? e.message : String(e) }),
    );
  };
  const show = (i: number, el: EventTarget | null) => {
    const r = (el as HTMLElement).getBoundingClientRect();
    setTipState({ i, x: Math.max(8, Math.min(r.left - 40, window.innerWidth - 440)), y: r.bottom + 6 });
    const d = knobDiffs[i - 1];
    if (d && d.added.length + d.removed.length > 0 && !stale) ask(profiles[i - 1]!, profiles[i]!);
  };
  const hide = (i: number) => setTipState((t) => (t && t.i === i ? null : t));
  const runOf = (p: string) => runs.find((r) => r.kernel === p);

  const valueNames: string[] = [];
  const content = new Set<string>();
  const kinds: string[] = [];
  const clauses = new Map<number, string>();
  const sums = new Map<string, RunSummary>();
  for (const r of runs) {
    const sum = summarize(r);
    sums.set(r.kernel, sum);
    for (const k of sum.values.keys()) if (!valueNames.includes(k)) valueNames.push(k);
    for (const c of r.contentNames) content.add(c);
    for (const k of sum.kinds.keys()) if (!kinds.includes(k)) kinds.push(k);
    for (const c of r.checks) if (!clauses.has(c.line)) clauses.set(c.line, c.clause);
  }
  const showVals = (vs: (string | number)[] | undefined, name: string) =>
    !vs || vs.length === 0 ? '—' : vs.map((v) => showValue(v, content.has(name))).join(' | ');
  const clauseLines = [...clauses.keys()].sort((a, b) => a - b);
  // boundaries where the outcome changes
  const changes = profiles.map((p, i) => i > 0 && outcomeKey(runOf(profiles[i - 1]!)) !== outcomeKey(runOf(p)));
  // without a race the deciding knobs of the boundaries that change cost a few straight runs each: found at once, so ★ shows without a hover
  useEffect(() => {
    if (concurrent || stale) return;
    changes.forEach((c, i) => {
      const d = knobDiffs[i - 1];
      if (c && d && d.added.length + d.removed.length > 0) ask(profiles[i - 1]!, profiles[i]!);
    });
  }, [runs, stale]);
  const colClass = (i: number) => (changes[i] ? 'chg' : '') + (selected.includes(profiles[i]!) ? ' sel' : '');

  return (
    <div class={'matrix' + (stale ? ' stale' : '')} data-testid="matrix">
      <table>
        <thead>
          <tr>
            <th class="rowhead">profile</th>
            {profiles.map((p, i) => {
              const d = i > 0 ? knobDiffs[i - 1] : undefined;
              const n = d ? d.added.length + d.removed.length : 0;
              return (
                <th key={p} class={'colhead ' + colClass(i)} data-testid={'col-' + p}>
                  {i > 0 && (
                    <span
                      class={'delta' + (changes[i] ? ' delta-chg' : '') + (n === 0 ? ' delta-none' : '')}
                      data-testid={`delta-${profiles[i - 1]}-${p}`}
                      tabIndex={0}
                      onMouseEnter={(e) => show(i, e.currentTarget)}
                      onMouseLeave={() => hide(i)}
                      onFocus={(e) => show(i, e.currentTarget)}
                      onBlur={() => hide(i)}
                    >
                      Δ{n > 0 ? n : ''}
                      {decidingMark(deciding[profiles[i - 1] + '|' + p])}
                    </span>
                  )}
                  <button class="prof" title={`show ${p} in the step view`} onClick={() => onPickProfile(p)}>
                    {p}
                  </button>
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          <tr data-testid="row-outcome" class="row-outcome">
            <th class="rowhead" title={concurrent && !runs.some((r) => r.outcomes) ? 'a race: this row shows one schedule; the clauses have the explorer\'s verdicts' : undefined}>
              outcome{concurrent && !runs.some((r) => r.outcomes) ? ' (one schedule)' : ''}
            </th>
            {profiles.map((p, i) => {
              const r = runOf(p);
              const sum = sums.get(p);
              const ks = sum ? [...sum.kinds] : [];
              const failed = r ? r.checks.filter((c) => c.status === 'failed').length : 0;
              const ex = r?.explored;
              const partial = !!ex && !ex.complete;
              const cls = !r ? 'na' : r.error ? 'err' : ks.length ? 'bad' : partial ? 'incomplete' : 'good';
              return (
                <td
                  key={p}
                  class={cls + ' outcome ' + colClass(i)}
                  data-testid={`cell-outcome-${p}`}
                  title={
                    ex
                      ? partial
                        ? `INCOMPLETE: ${boundText(ex, limits)}; unexplored interleavings remain. Violations listed were reached; others may exist.`
                        : `explored every interleaving: ${ex.states} states, ${ex.transitions} transitions`
                      : undefined
                  }
                >
                  {partial && (
                    <div class="incomplete-tag" data-testid={`incomplete-${p}`}>
                      INCOMPLETE
                    </div>
                  )}
                  {!r ? (
                    '—'
                  ) : r.error ? (
                    <span title={r.error}>ERROR</span>
                  ) : ks.length ? (
                    ks.map(([k, e]) => (
                      <div key={k}>
                        {k}
                        {sum!.n > 1 && e.count < sum!.n && <span class="sometimes"> in {e.count}/{sum!.n}</span>}
                      </div>
                    ))
                  ) : partial ? (
                    <span class="none-found">no violation found{ex.bound === 'time' && ex.states === 0 ? '' : ' so far'}</span>
                  ) : (
                    'clean'
                  )}
                  {sum && sum.n > 1 && <div class="outcomes-n">{sum.n} outcomes{partial ? ' so far' : ''}</div>}
                  {partial && (
                    <div class="bound-text" data-testid={`bound-${p}`}>
                      {boundText(ex, limits)}
                    </div>
                  )}
                  {failed > 0 && <span class="failcount"> · {failed} FAIL</span>}
                </td>
              );
            })}
          </tr>
          {valueNames.length > 0 && (
            <tr class="section">
              <th colSpan={profiles.length + 1}>values</th>
            </tr>
          )}
          {valueNames.map((name) => (
            <tr key={'v' + name} data-testid={'row-' + name}>
              <th class="rowhead mono">{name}</th>
              {profiles.map((p, i) => {
                const r = runOf(p);
                const v = showVals(sums.get(p)?.values.get(name), name);
                const prev = i > 0 ? showVals(sums.get(profiles[i - 1]!)?.values.get(name), name) : v;
                return (
                  <td key={p} class={'mono ' + (v !== prev ? 'vchg ' : '') + colClass(i)} data-testid={`cell-${name}-${p}`}>
                    {r?.error ? '—' : v}
                  </td>
                );
              })}
            </tr>
          ))}
          {kinds.length > 0 && (
            <tr class="section">
              <th colSpan={profiles.length + 1}>violations</th>
            </tr>
          )}
          {kinds.map((kind) => (
            <tr key={'k' + kind} data-testid={'violation-' + kind}>
              <th class="rowhead vkind" title={VIOLATION_MEANING[kind] ?? kind}>
                {kind}
              </th>
              {profiles.map((p, i) => {
                const sum = sums.get(p);
                const e = sum?.kinds.get(kind);
                return (
                  <td
                    key={p}
                    class={(e ? 'bad clickable ' : 'none ') + colClass(i)}
                    data-testid={`cell-violation-${kind}-${p}`}
                    title={e ? e.details.join('\n') + '\n(click: show the step)' : undefined}
                    onClick={() => e && onGotoLine(e.lines[0]!, p)}
                  >
                    {e ? (
                      <>
                        {e.lines.length === 1 ? 'line ' : 'lines '}
                        {e.lines.join(', ')}
                        {sum!.n > 1 && e.count < sum!.n && <span class="sometimes"> ({e.count}/{sum!.n})</span>}
                      </>
                    ) : (
                      '—'
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
          {clauseLines.length > 0 && (
            <tr class="section">
              <th colSpan={profiles.length + 1}>clauses</th>
            </tr>
          )}
          {clauseLines.map((line) => (
            <tr key={'c' + line} data-testid={'clause-' + line}>
              <th class="rowhead clause mono" title={clauses.get(line)}>
                <span class="lineno">{line}</span> {clauses.get(line)}
              </th>
              {profiles.map((p, i) => {
                const c = runOf(p)?.checks.find((x) => x.line === line);
                const cls = !c ? 'none' : c.status === 'passed' ? 'good' : c.status === 'failed' ? 'bad' : 'ne';
                const obs = c?.observation ? `Observation ${c.observation}${c.positive !== undefined ? `: Positive ${c.positive} Negative ${c.negative}` : ''}` : '';
                const sched = c?.schedule && c.traceKind ? `(click: step through its shortest ${c.traceKind}, ${c.schedule.length} transitions)` : '';
                return (
                  <td
                    key={p}
                    class={cls + ' ' + colClass(i) + (sched ? ' clickable' : '')}
                    data-testid={`cell-clause-${line}-${p}`}
                    title={[obs, c?.reason ?? '', sched].filter(Boolean).join('\n') || undefined}
                    onClick={() => sched && onPickSchedule(p, line)}
                  >
                    {!c ? '—' : c.status === 'passed' ? 'PASS' : c.status === 'failed' ? 'FAIL' : 'n/e'}
                    {c?.observation && <span class="obs"> {c.observation}</span>}
                    {sched && (
                      <span class="obs trace-mark" data-testid={`trace-mark-${line}-${p}`}>
                        {' '}
                        ▸ {c!.traceKind}
                      </span>
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
          {runs.some((r) => r.notes.length > 0 || r.error) && (
            <tr data-testid="row-notes" class="row-notes">
              <th class="rowhead">notes</th>
              {profiles.map((p, i) => {
                const r = runOf(p);
                return (
                  <td key={p} class={'notes ' + colClass(i)}>
                    {r?.error && <div class="note-err">{r.error}</div>}
                    {r && r.notes.length > 0 && (
                      <details>
                        <summary>
                          {r.notes.length} note{r.notes.length > 1 ? 's' : ''}
                        </summary>
                        {r.notes.map((n, k) => (
                          <div key={k}>
                            line {n.line}: {n.msg}
                          </div>
                        ))}
                      </details>
                    )}
                  </td>
                );
              })}
            </tr>
          )}
        </tbody>
      </table>
      {tip && profiles[tip.i] && (
        <KnobTip
          diff={knobDiffs[tip.i - 1]}
          from={profiles[tip.i - 1]!}
          to={profiles[tip.i]!}
          changed={changes[tip.i]!}
          deciding={deciding[profiles[tip.i - 1] + '|' + profiles[tip.i]]}
          x={tip.x}
          y={tip.y}
        />
      )}
      <div class="matrix-hint">
        Click a profile to step through it; hover Δ between two profiles for the knobs (kernel commits) that differ, ★ marking
        those that change this scenario.
        {concurrent && ' Click a clause marked ▸ to step through the explorer\'s witness or counterexample.'}
        {concurrent && limits && ` Limits per run: ${limits.maxStates.toLocaleString('en-US')} states per profile, ${limits.timeMs / 1000} s.`}
      </div>
    </div>
  );
}

/** After the Δ count: ★ once the knobs that change the scenario are known (and some do). */
function decidingMark(d: Deciding | undefined) {
  if (!d || d === 'loading' || 'failed' in d || !d.ok || d.changes.length === 0) return null;
  return <span class="delta-star" title="the knobs that change this scenario are marked in the list"> ★</span>;
}

/** Per knob: the changes it takes part in (by the minimal sets of /api/bisect). */
function knobRoles(d: Deciding | undefined): Map<string, { whats: string[]; with: string[] }> | null {
  if (!d || d === 'loading' || 'failed' in d || !d.ok) return null;
  const m = new Map<string, { whats: string[]; with: string[] }>();
  for (const c of d.changes)
    for (const k of c.knobs) {
      const e = m.get(k.name) ?? { whats: [], with: [] };
      e.whats.push(`${c.what.replace(/^line (\d+): .*/, 'clause $1')}: ${c.from} → ${c.to}`);
      if (c.together) for (const o of c.knobs) if (o.name !== k.name && !e.with.includes(o.name)) e.with.push(o.name);
      m.set(k.name, e);
    }
  return m;
}

function KnobTip(props: { diff: KnobDiff | undefined; from: string; to: string; changed: boolean; deciding: Deciding | undefined; x: number; y: number }) {
  const { diff, from, to, changed, deciding } = props;
  const roles = knobRoles(deciding);
  const ok = deciding && deciding !== 'loading' && !('failed' in deciding) && deciding.ok ? deciding : null;
  const knobLine = (k: { name: string; commit: string; title: string }, op: '+' | '−', cls: string) => {
    const role = roles?.get(k.name);
    const mark = roles ? (role ? ' knob-decides' : ' knob-idle') : '';
    return (
      <div key={op + k.name} class={'knob ' + cls + mark} data-testid={roles ? (role ? `knob-decides-${k.name}` : `knob-idle-${k.name}`) : undefined}>
        {role && <span class="knob-star">★ </span>}
        <span class="knob-op">{op}</span> <span class="knob-name">{k.name}</span> {/^[0-9a-f]{7,40}$/.test(k.commit) && <span class="knob-commit">{k.commit}</span>}
        <div class="knob-title">{k.title}</div>
        {role && (
          <div class="knob-effect">
            changes {role.whats.join('; ')}
            {role.with.length > 0 && <span class="knob-together"> — only together with {role.with.join(', ')}</span>}
          </div>
        )}
      </div>
    );
  };
  return (
    <div class="knobtip" data-testid="knob-tooltip" role="tooltip" style={{ left: props.x + 'px', top: props.y + 'px' }}>
      <div class="knobtip-head">
        {from} → {to}: {diff ? diff.added.length + diff.removed.length : 0} knob(s) differ
        {changed && <span class="knobtip-chg"> · the outcome changes here</span>}
      </div>
      {diff && diff.added.length + diff.removed.length === 0 && <div class="knobtip-none">same knobs: same behaviour</div>}
      {deciding === 'loading' && <div class="knobtip-bisect" data-testid="knobtip-bisecting">finding the knobs that change this scenario…</div>}
      {deciding && deciding !== 'loading' && ('failed' in deciding || !deciding.ok) && (
        <div class="knobtip-bisect">could not tell which knobs decide: {'failed' in deciding ? deciding.failed : deciding.ok ? '' : deciding.error.message}</div>
      )}
      {ok && (
        <div class="knobtip-bisect" data-testid="knobtip-bisect">
          {ok.changes.length === 0
            ? 'none of these knobs changes what this scenario observes'
            : `★ changes this scenario (minimal sets, by switching knobs on ${from}${ok.incomplete ? '; an exploration was bounded' : ''})`}
          {ok.changes
            .filter((c) => c.knobs.length === 0)
            .map((c) => (
              <div key={c.key}>
                {c.what}: {c.from} → {c.to}: {c.note}
              </div>
            ))}
        </div>
      )}
      {diff?.added.map((k) => knobLine(k, '+', 'knob-add'))}
      {diff?.removed.map((k) => knobLine(k, '−', 'knob-rm'))}
    </div>
  );
}
