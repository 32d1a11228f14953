// pinlab serve: the page. Editor + corpus picker + share link (top), outcome
// matrix (right), step view with state diagrams (below).

import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { BisectResult, CorpusEntry, ParseError, Progress, RunResult } from './api.js';
import { api } from './api.js';
import { Editor } from './Editor.js';
import { Matrix } from './Matrix.js';
import { StepView } from './StepView.js';
import { WhatIf } from './WhatIf.js';
import { boundText, firstChange, fmt, incompleteRuns } from './model.js';
import { readHash, shareUrl } from './share.js';

type OkRun = Extract<RunResult, { ok: true }>;

const GROUPS: { group: CorpusEntry['group']; label: string }[] = [
  { group: 'seeds', label: 'seeds (shared/corpus/seeds)' },
  { group: 'threads', label: 'corpus/threads (the seed threads restated)' },
  { group: 'corpus', label: 'corpus' },
  { group: 'real', label: 'corpus/real (differential)' },
  { group: 'selftests', label: 'corpus/selftests (cow.c, gup_longterm.c)' },
];

function App() {
  const [corpus, setCorpus] = useState<CorpusEntry[]>([]);
  const [corpusId, setCorpusId] = useState<string>('');
  const [original, setOriginal] = useState<string>('');
  const [text, setText] = useState<string>('');
  const [error, setError] = useState<ParseError | null>(null);
  const [busy, setBusy] = useState<'' | 'checking' | 'running'>('');
  const [run, setRun] = useState<OkRun | null>(null);
  const [runText, setRunText] = useState<string>('');
  const [runMs, setRunMs] = useState<number>(0);
  const [fatal, setFatal] = useState<string>('');
  const [profA, setProfA] = useState<string>('');
  const [profB, setProfB] = useState<string>('');
  const [idx, setIdx] = useState<number>(0);
  const [jump, setJump] = useState<{ line: number; seq: number } | null>(null);
  const [schedPick, setSchedPick] = useState<{ profile: string; line: number; seq: number } | null>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  /** the user cancelled the run of this text */
  const [cancelled, setCancelled] = useState<string>('');
  const inflight = useRef<AbortController | null>(null);
  /** bumped by "Run again" after a cancel */
  const [runNonce, setRunNonce] = useState(0);
  const [active, setActive] = useState<{ line: number | null; viol: boolean }>({ line: null, viol: false });
  const [share, setShare] = useState<string>('');
  const resetSel = useRef(true);
  /** a scenario has been loaded (before that, the empty editor is not checked) */
  const loaded = useRef(false);
  const seq = useRef(0);
  /** /api/bisect answers by scenario text and profile pair (the Δ marks) */
  const bisects = useRef(new Map<string, Promise<BisectResult>>());
  const bisect = (from: string, to: string): Promise<BisectResult> => {
    const key = `${from}|${to}|${runText}`;
    let p = bisects.current.get(key);
    if (!p) {
      if (bisects.current.size > 200) bisects.current.clear();
      p = api.bisect({ text: runText, from, to });
      // a failure (busy, cancelled) is not remembered: the next hover asks again
      p.catch(() => bisects.current.delete(key));
      bisects.current.set(key, p);
    }
    return p;
  };

  const openCorpus = async (id: string, pushHash = true) => {
    try {
      const r = await api.scenario(id);
      resetSel.current = true;
      setCorpusId(id);
      setOriginal(r.text);
      setText(r.text);
      setIdx(0);
      setShare('');
      if (pushHash) history.replaceState(null, '', '#c=' + encodeURIComponent(id).replace(/%2F/g, '/'));
    } catch (e) {
      setFatal(`cannot open ${id}: ${String(e)}`);
    }
  };

  const fromHash = (list: CorpusEntry[]): boolean => {
    const h = readHash(location.hash);
    if (h?.kind === 'text') {
      resetSel.current = true;
      setCorpusId('');
      setOriginal('');
      setText(h.text);
      setIdx(0);
      return true;
    }
    if (h?.kind === 'corpus') {
      void openCorpus(h.id, false);
      return true;
    }
    void list;
    return false;
  };

  // corpus list, then the scenario the URL names (or the first seed)
  useEffect(() => {
    api
      .corpus()
      .then((list) => {
        setCorpus(list);
        if (!fromHash(list) && list[0]) void openCorpus(list[0].id, false);
      })
      .catch((e: unknown) => {
        setFatal(`cannot list the corpus: ${String(e)}`);
        fromHash([]);
      });
    const onHash = () => fromHash([]);
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  // check (debounced), then run
  useEffect(() => {
    if (text) loaded.current = true;
    if (!loaded.current) return;
    const my = ++seq.current;
    // an edit stops the run in flight (the server stops its worker when the request closes)
    inflight.current?.abort();
    const ac = new AbortController();
    inflight.current = ac;
    setCancelled('');
    setProgress(null);
    const t = setTimeout(async () => {
      try {
        setBusy('checking');
        const c = await api.check(text, ac.signal);
        if (my !== seq.current) return;
        if (!c.ok) {
          setError(c.error);
          setBusy('');
          return;
        }
        setError(null);
        setBusy('running');
        const t0 = performance.now();
        const r = await api.run(
          text,
          (p) => {
            if (my === seq.current) setProgress(p);
          },
          ac.signal,
        );
        if (my !== seq.current) return;
        setBusy('');
        setProgress(null);
        if (!r.ok) {
          setError(r.error);
          return;
        }
        setRunMs(Math.round(performance.now() - t0));
        setFatal('');
        setRun(r);
        setRunText(text);
      } catch (e) {
        if (!ac.signal.aborted && my === seq.current) {
          setBusy('');
          setProgress(null);
          setFatal(e instanceof Error ? e.message : String(e));
        }
      }
    }, 250);
    return () => {
      clearTimeout(t);
      ac.abort();
    };
  }, [text, runNonce]);

  // profile selection for the step view: on a new scenario, the first adjacent pair whose outcome differs
  useEffect(() => {
    if (!run) return;
    const ps = run.profiles;
    const valid = ps.includes(profA) && (profB === '' || (ps.includes(profB) && profB !== profA));
    if (!resetSel.current && valid) return;
    resetSel.current = false;
    const c = firstChange(ps, run.runs);
    if (c >= 0) {
      setProfA(ps[c]!);
      setProfB(ps[c + 1]!);
    } else {
      setProfA(ps[0] ?? '');
      setProfB('');
    }
  }, [run]);

  const stale = run !== null && runText !== text;
  const edited = corpusId !== '' && text !== original;

  const cancel = () => {
    const ac = inflight.current;
    if (!ac) return;
    ac.abort();
    seq.current++;
    setBusy('');
    setCancelled(
      `run cancelled${progress ? ` while exploring ${progress.kernel} (${fmt(progress.states)} states, ${fmt(progress.transitions)} transitions)` : ''}; edit the scenario to run it again${run ? '; the matrix shows the last finished run' : ''}`,
    );
    setProgress(null);
  };

  const incomplete = run ? incompleteRuns(run.runs) : [];
  const doShare = async () => {
    const url = shareUrl(text);
    history.replaceState(null, '', url);
    setShare(url);
    try {
      await navigator.clipboard.writeText(url);
    } catch {
      /* the URL is shown for copying by hand */
    }
  };

  const took = runMs >= 10_000 ? `${(runMs / 1000).toFixed(1)} s` : `${runMs} ms`;
  const runStatus = (r: OkRun): string => {
    if (!r.concurrent) return `${r.scenario}: ${r.profiles.length} profile(s), ran in ${took}`;
    if (incomplete.length)
      return `${r.scenario}: INCOMPLETE: ${incomplete.map((x) => `${x.kernel} ${boundText(x.explored!, r.limits)}`).join('; ')}. Unexplored interleavings remain: no never/expect clause passes there (ran in ${took})`;
    const states = r.runs.reduce((n, x) => n + (x.explored?.states ?? 0), 0);
    const errs = r.runs.filter((x) => x.error).length;
    return errs
      ? `${r.scenario}: ${r.profiles.length - errs} of ${r.profiles.length} profile(s) explored in full (${fmt(states)} states in all); ${errs} could not run; ran in ${took}`
      : `${r.scenario}: ${r.profiles.length} profile(s), explored every interleaving (${fmt(states)} states in all), ran in ${took}`;
  };
  const status = error
    ? `line ${error.line}, column ${error.column}: ${error.message}`
    : fatal
      ? fatal
      : busy === 'checking'
        ? 'checking…'
        : busy === 'running'
          ? progress
            ? `exploring ${progress.kernel} (profile ${progress.index} of ${progress.of}): ${fmt(progress.states)} states, ${fmt(progress.transitions)} transitions, ${fmt(progress.statesPerSec)} states/s, ${(progress.ms / 1000).toFixed(1)} s`
            : 'running on every profile…'
          : cancelled
            ? cancelled
            : run
              ? runStatus(run)
              : 'loading…';

  return (
    <div class="app">
      <header class="topbar">
        <span class="brand">pinlab</span>
        <label class="picker">
          scenario{' '}
          <select
            data-testid="corpus-picker"
            value={corpusId}
            onChange={(e) => {
              const v = (e.currentTarget as HTMLSelectElement).value;
              if (v) void openCorpus(v);
            }}
          >
            {corpusId === '' && <option value="">(your scenario)</option>}
            {GROUPS.map((g) => {
              const items = corpus.filter((c) => c.group === g.group);
              if (!items.length) return null;
              return (
                <optgroup key={g.group} label={g.label}>
                  {items.map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.id}
                      {c.name && c.name !== c.id ? ` — ${c.name}` : ''}
                    </option>
                  ))}
                </optgroup>
              );
            })}
          </select>
        </label>
        {edited && <span class="edited">(edited)</span>}
        {edited && (
          <button onClick={() => setText(original)} title="back to the corpus text">
            revert
          </button>
        )}
        <button data-testid="share" onClick={doShare} title="a URL that encodes this scenario">
          Share
        </button>
        {share && (
          <input
            class="share-url"
            data-testid="share-url"
            readOnly
            value={share}
            onFocus={(e) => (e.currentTarget as HTMLInputElement).select()}
          />
        )}
        {cancelled && !busy && (
          <button data-testid="rerun" onClick={() => setRunNonce(runNonce + 1)} title="run this scenario again">
            Run again
          </button>
        )}
        {busy === 'running' && (
          <button data-testid="cancel-run" class="cancel" onClick={cancel} title="stop this run (the server stops exploring)">
            Cancel
          </button>
        )}
        <span class={'topstatus' + (error || fatal ? ' bad' : '') + (!busy && !error && run && !stale && incomplete.length ? ' incomplete' : '')}>
          {busy ? busy + '…' : error ? 'syntax error' : cancelled ? 'cancelled' : run ? (stale ? 'stale' : incomplete.length ? 'INCOMPLETE' : 'ok') : ''}
        </span>
      </header>

      <main class="workspace">
        <section class="left">
          <Editor text={text} onInput={setText} error={error} activeLine={active.line} violationLine={active.viol ? active.line : null} />
        </section>
        <section class="right">
          {run ? (
            <>
              <div class="scenario-head">
                <b data-testid="scenario-name">{run.scenario}</b>
                {run.source && <span class="muted"> · source {run.source}</span>}
                {stale && <span class="stale-note"> · showing the last scenario that parsed</span>}
              </div>
              <Matrix
                profiles={run.profiles}
                runs={run.runs}
                knobDiffs={run.knobDiffs}
                stale={stale}
                concurrent={run.concurrent}
                {...(run.limits ? { limits: run.limits } : {})}
                selected={[profA, profB].filter(Boolean)}
                onPickProfile={(p) => {
                  if (p === profA) return;
                  if (p === profB) setProfB(profA);
                  setProfA(p);
                }}
                onGotoLine={(line, p) => {
                  if (p !== profA) {
                    if (p === profB) setProfB(profA);
                    setProfA(p);
                  }
                  setJump({ line, seq: Date.now() });
                }}
                onPickSchedule={(p, line) => {
                  if (p !== profA && p !== profB) setProfA(p);
                  setSchedPick({ profile: p, line, seq: Date.now() });
                }}
                bisect={bisect}
              />
              <WhatIf
                text={runText}
                profiles={run.profiles}
                initial={profA || run.profiles[0]!}
                stale={stale}
                onGotoLine={(line, p) => {
                  if (p !== profA) {
                    if (p === profB) setProfB(profA);
                    setProfA(p);
                  }
                  setJump({ line, seq: Date.now() });
                }}
              />
            </>
          ) : (
            <div class="muted pad">{fatal || 'the outcome matrix appears when the scenario parses'}</div>
          )}
        </section>
      </main>

      {run && profA && (
        <StepView
          text={runText}
          profiles={run.profiles}
          runs={run.runs}
          knobDiffs={run.knobDiffs}
          profA={profA}
          profB={profB}
          setProfA={(p) => {
            if (p === profB) setProfB('');
            setProfA(p);
          }}
          setProfB={setProfB}
          idx={idx}
          setIdx={setIdx}
          jump={jump}
          schedPick={schedPick}
          concurrent={run.concurrent}
          onActive={(line, viol) => setActive({ line, viol })}
        />
      )}

      <footer class={'statusbar' + (error || fatal ? ' bad' : !busy && !cancelled && run && incomplete.length ? ' incomplete' : '')} data-testid="status">
        {status}
      </footer>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
