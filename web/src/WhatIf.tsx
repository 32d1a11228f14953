// "What if": switch one knob on one profile and see what this scenario would
// observe instead (POST /api/bisect with `toggle`): each changed observable,
// old -> new, and the step where the run first takes another path.

import { useEffect, useState } from 'preact/hooks';
import { api, type BisectResult, type ProfilesInfo } from './api.js';

interface Props {
  text: string;
  profiles: string[];
  /** the profile to start from (the step view's) */
  initial: string;
  stale: boolean;
  onGotoLine: (line: number, profile: string) => void;
}

/** The knobs a profile name (`5.9`, `5.9-fork_early_cow_pinned+x`) has, from /api/profiles. */
export function knobsOfProfile(info: ProfilesInfo, name: string): Set<string> | null {
  const m = /^(\d+\.\d+)((?:[+-][A-Za-z_][A-Za-z0-9_]*)*)$/.exec(name);
  const v = m && info.versions.find((x) => x.version === m[1]);
  if (!m || !v) return null;
  const set = new Set(v.knobs);
  for (const mm of m[2]!.matchAll(/([+-])([A-Za-z_][A-Za-z0-9_]*)/g)) {
    if (mm[1] === '+') set.add(mm[2]!);
    else set.delete(mm[2]!);
  }
  return set;
}

let profilesInfo: Promise<ProfilesInfo> | null = null;

export function WhatIf({ text, profiles, initial, stale, onGotoLine }: Props) {
  const [info, setInfo] = useState<ProfilesInfo | null>(null);
  const [profile, setProfile] = useState(initial);
  const [knob, setKnob] = useState('');
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<BisectResult | { failed: string } | null>(null);

  useEffect(() => {
    (profilesInfo ??= api.profiles()).then(setInfo, () => setInfo(null));
  }, []);
  useEffect(() => {
    if (!profiles.includes(profile)) setProfile(initial);
  }, [profiles, initial]);
  // an answer is for one text, profile and knob
  useEffect(() => setAnswer(null), [text, profile, knob]);

  const has = info ? knobsOfProfile(info, profile) : null;
  const go = async () => {
    if (!knob || !profile) return;
    setBusy(true);
    setAnswer(null);
    try {
      setAnswer(await api.bisect({ text, from: profile, toggle: knob }));
    } catch (e) {
      setAnswer({ failed: e instanceof Error ? e.message : String(e) });
    }
    setBusy(false);
  };
  const k = info?.knobs.find((x) => x.name === knob);
  const on = has?.has(knob) ?? false;

  return (
    <div class="whatif" data-testid="whatif">
      <span class="whatif-label">what if</span>
      <select data-testid="whatif-profile" value={profile} onChange={(e) => setProfile((e.currentTarget as HTMLSelectElement).value)}>
        {profiles.map((p) => (
          <option key={p} value={p}>
            {p}
          </option>
        ))}
      </select>
      <select data-testid="whatif-knob" value={knob} onChange={(e) => setKnob((e.currentTarget as HTMLSelectElement).value)}>
        <option value="">(pick a knob to switch)</option>
        {info?.knobs.map((x) => (
          <option key={x.name} value={x.name}>
            {has?.has(x.name) ? 'without ' : 'with '}
            {x.name} {/^[0-9a-f]{7,40}$/.test(x.commit) ? x.commit : ''}
          </option>
        ))}
      </select>
      <button data-testid="whatif-go" disabled={!knob || busy || stale} onClick={go} title={stale ? 'the scenario has changed: wait for its run' : undefined}>
        {busy ? 'running…' : 'show'}
      </button>
      {k && (
        <div class="whatif-knob muted">
          {profile} {on ? 'has' : 'lacks'} {k.name} ({k.commit}: {k.title}); shown: {profile}
          {on ? '-' : '+'}
          {k.name}
        </div>
      )}
      {answer && (
        <div class="whatif-result" data-testid="whatif-result">
          {'failed' in answer ? (
            <span class="bad">{answer.failed}</span>
          ) : !answer.ok ? (
            <span class="bad">{answer.error.message}</span>
          ) : answer.changes.length === 0 ? (
            <span data-testid="whatif-same">
              no change: on {answer.from} this scenario observes the same with {answer.to.slice(answer.from.length)}
            </span>
          ) : (
            <>
              <div class="whatif-head">
                {answer.to} observes{answer.incomplete ? ' (an exploration was bounded)' : ''}:
              </div>
              {answer.changes.map((c) => (
                <div key={c.key} class="whatif-change" data-testid={`whatif-change-${c.key}`}>
                  <span class="mono">{c.what.replace(/^line (\d+): .*/, 'clause $1')}</span>: {c.from} → <b>{c.to}</b>
                </div>
              ))}
              {answer.changes[0]?.step && (
                <div class="whatif-step">
                  first diverges at{' '}
                  <button class="linkish" onClick={() => onGotoLine(answer.changes[0]!.step!.line, answer.from)}>
                    line {answer.changes[0]!.step!.line}
                  </button>
                  : <span class="mono">{answer.changes[0]!.step!.text}</span>
                  <div class="muted mono">
                    {answer.from}: {answer.changes[0]!.step!.from ?? '(nothing)'}
                    <br />
                    {answer.to}: {answer.changes[0]!.step!.to ?? '(nothing)'}
                  </div>
                </div>
              )}
            </>
          )}
        </div>
      )}
    </div>
  );
}
