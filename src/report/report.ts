// Reports: the spec's text and JSON forms for `pinlab run`, the scenario x
// profile table for `pinlab check`, and the knob listing for `pinlab profiles`.

import type { ProfileRun } from '../interp/interpreter.js';
import type { KnobUse } from '../model/kernel.js';
import type { WitnessStep } from '../explore/explorer.js';
import { KNOB_BY_NAME, KNOBS } from '../profiles/knobs.js';
import { LTS, VERSIONS, compareVersions, knobsOfVersion } from '../profiles/profiles.js';

export interface ScenarioResult {
  scenario: string;
  file: string;
  source: string | null;
  concurrent: boolean;
  runs: ProfileRun[];
  /** the scenario's lines (for per-step traces) */
  lines?: string[];
}

export interface ReportOptions {
  /** per step, the kernel functions that ran and the decisions they took, with the knobs behind each */
  trace?: boolean;
}

/** A knob use as `name` (on) or `!name` (off), with its commit: what a decision went through. */
export function knobText(k: KnobUse): string {
  const commit = KNOB_BY_NAME.get(k.name)?.commit;
  return `${k.on ? '' : '!'}${k.name}${commit ? ` ${commit.slice(0, 12)}` : ''}`;
}

function callLine(c: { fn: string; what: string; knobs?: KnobUse[] }): string {
  return `${c.fn}: ${c.what}${c.knobs?.length ? `  [${c.knobs.map(knobText).join(', ')}]` : ''}`;
}

/** The steps of a straight run, each with the trace entries it produced. */
function stepsOf(run: ProfileRun, lines: string[] | undefined): { line: number; actor: string; text: string; trace: { fn: string; what: string; knobs?: KnobUse[] }[] }[] {
  const out: { line: number; actor: string; text: string; trace: { fn: string; what: string; knobs?: KnobUse[] }[] }[] = [];
  for (const t of run.trace) {
    let last = out[out.length - 1];
    if (!last || last.line !== t.line || last.actor !== t.actor) {
      last = { line: t.line, actor: t.actor, text: (lines?.[t.line - 1] ?? '').replace(/#.*$/, '').trim(), trace: [] };
      out.push(last);
    }
    last.trace.push({ fn: t.fn, what: t.what, ...(t.knobs?.length ? { knobs: t.knobs } : {}) });
  }
  return out;
}

/** Passed: no error, no failed clause, and every exploration complete (a bound hit never passes). */
export function scenarioPassed(r: ScenarioResult): boolean {
  return r.runs.every((run) => !run.error && (!run.explored || run.explored.complete) && run.checks.every((c) => c.status !== 'failed'));
}

/** The spec's JSON document for one scenario. */
export function toJson(r: ScenarioResult, opts: ReportOptions = {}): object {
  return {
    scenario: r.scenario,
    file: r.file,
    passed: scenarioPassed(r),
    results: r.runs.map((run) => ({
      kernel: run.kernel,
      ...(run.error ? { error: run.error } : {}),
      outcomes: (run.outcomes ?? [{ values: run.values, violations: run.violations }]).map((o) => ({
        values: o.values,
        violations: o.violations.map((v) => ({ kind: v.kind, line: v.line, detail: v.detail })),
      })),
      states: run.states,
      explored: run.explored
        ? {
            states: run.explored.states,
            transitions: run.explored.transitions,
            complete: run.explored.complete,
            ...(run.explored.bound ? { bound: run.explored.bound } : {}),
            ...(run.explored.random ? { random: run.explored.random } : {}),
          }
        : { states: 1, transitions: 0, complete: true },
      notes: run.notes.map((n) => ({ line: n.line, note: n.msg })),
      checks: run.checks.map((c) => ({
        line: c.line,
        clause: c.clause,
        passed: c.passed,
        ...(c.status === 'not explored' ? { status: 'not explored' } : {}),
        ...(c.observation ? { observation: c.observation, positive: c.positive, negative: c.negative } : {}),
        ...(c.reason ? { reason: c.reason } : {}),
      })),
      witnesses: run.checks
        .filter((c) => c.trace)
        .map((c) => ({ clause: c.clause, line: c.line, kind: c.traceKind, trace: c.trace })),
      ...(opts.trace && !run.explored ? { steps: stepsOf(run, r.lines) } : {}),
    })),
  };
}

function showVal(v: string | number, content: boolean): string {
  if (typeof v === 'number') return String(v);
  return content ? `'${v}'` : v;
}

/** Human report for `pinlab run`. */
export function toText(r: ScenarioResult, opts: ReportOptions = {}): string {
  const out: string[] = [];
  out.push(`scenario ${r.scenario}  (${r.file})`);
  if (r.source) out.push(`source   ${r.source}`);
  for (const run of r.runs) {
    out.push('');
    out.push(`== kernel ${run.kernel}`);
    if (run.error) out.push(`  ERROR       ${run.error}`);
    if (run.explored) {
      textExplored(out, run);
      continue;
    }
    const vals = Object.entries(run.values).map(([k, v]) => `${k}=${showVal(v, run.contentNames.includes(k))}`);
    out.push(`  values      ${vals.join(' ') || '(none)'}`);
    if (run.violations.length === 0) out.push('  violations  none');
    else {
      out.push('  violations');
      for (const v of run.violations) out.push(`    ${v.kind.padEnd(18)} line ${String(v.line).padEnd(3)} ${v.detail}`);
    }
    for (const n of run.notes) out.push(`  note        line ${n.line}: ${n.msg}`);
    for (const c of run.checks) {
      const tag = c.status === 'passed' ? 'PASS' : c.status === 'failed' ? 'FAIL' : 'NOT EXPLORED';
      out.push(`  ${tag.padEnd(12)}line ${String(c.line).padEnd(3)} ${c.clause}`);
    }
    if (opts.trace) {
      out.push('  trace');
      for (const st of stepsOf(run, r.lines)) {
        out.push(`    line ${String(st.line).padEnd(3)} ${st.text}`);
        for (const c of st.trace) out.push(`      ${callLine(c)}`);
      }
    }
  }
  const all = r.runs.flatMap((x) => x.checks);
  const passed = all.filter((c) => c.status === 'passed').length;
  const failed = all.filter((c) => c.status === 'failed').length;
  const ne = all.filter((c) => c.status === 'not explored').length;
  const errs = r.runs.filter((x) => x.error).length;
  out.push('');
  out.push(
    `${scenarioPassed(r) ? 'PASSED' : 'FAILED'}: ${passed} clause check(s) passed, ${failed} failed` +
      (ne ? `, ${ne} not explored` : '') +
      (errs ? `, ${errs} profile(s) could not run` : ''),
  );
  return out.join('\n');
}

/** herd7-style block for an explored profile. */
function textExplored(out: string[], run: ProfileRun): void {
  const x = run.explored!;
  if (x.random) {
    out.push(`  Random walks ${x.random.walks} (seed ${x.random.seed}), ${x.transitions} transitions, ${x.ms.toFixed(0)} ms -- a sample, not a proof`);
  } else {
    out.push(`  States ${x.states}`);
    out.push(`  Transitions ${x.transitions}  (depth ${x.depth}, ${x.finals} final states, ${x.ms.toFixed(0)} ms)`);
  }
  if (!x.complete && !x.random) out.push(`  INCOMPLETE: the ${x.bound} bound was hit; unexplored interleavings remain`);
  if (x.collisionProbability > 1e-9) out.push(`  fingerprint collision probability <= ${x.collisionProbability.toExponential(1)}`);
  const outs = run.outcomes ?? [];
  out.push(`  Outcomes ${outs.length}`);
  for (const o of outs) {
    const vals = Object.entries(o.values).map(([k, v]) => `${k}=${showVal(v, o.contentNames.includes(k))}`);
    const vs = o.violations.length ? [...new Set(o.violations.map((v) => `${v.kind}@${v.line}`))].join(' ') : 'clean';
    out.push(`    ${vals.join(' ')}  ${vs}`);
  }
  for (const n of run.notes) out.push(`  note        line ${n.line}: ${n.msg}`);
  for (const c of run.checks) {
    out.push(`  ${c.status === 'passed' ? 'PASS' : 'FAIL'}  line ${c.line}: ${c.clause}`);
    if (c.observation)
      out.push(`        Witnesses: Positive ${c.positive} Negative ${c.negative}   Observation ${c.observation}${c.reason ? `   (${c.reason})` : ''}`);
    if (c.trace) {
      out.push(`        ${c.reason?.includes('random walk') ? 'shrunk' : 'shortest'} ${c.traceKind}:`);
      out.push(...traceText(c.trace).map((l) => `          ${l}`));
    }
  }
}

/** A witness as numbered steps: actor, statement, kernel functions and state changes. */
export function traceText(trace: WitnessStep[]): string[] {
  const lines: string[] = [];
  for (const t of trace) {
    lines.push(`${String(t.n).padStart(2)}. ${t.actor}: ${t.stmt}  (line ${t.line})${t.segment ? ` -- ${t.segment}` : ''}`);
    for (const c of t.calls) lines.push(`      ${callLine(c)}`);
  }
  return lines;
}

export interface CheckRow {
  name: string;
  file: string;
  parseError?: string;
  result?: ScenarioResult;
}

function cell(run: ProfileRun | undefined): string {
  if (!run) return '';
  if (run.error) return 'ERR';
  if (run.explored && !run.explored.complete) return 'BOUND';
  if (run.checks.some((c) => c.status === 'failed')) return 'FAIL';
  if (run.checks.some((c) => c.status === 'not explored')) return 'n/e';
  return run.checks.length ? 'ok' : '-';
}

/** The scenario x profile table of `pinlab check`. */
export function checkTable(rows: CheckRow[]): string {
  const kernels = new Set<string>();
  for (const r of rows) for (const run of r.result?.runs ?? []) kernels.add(run.kernel);
  const cols = [...kernels].sort((a, b) => {
    const va = a.match(/^\d+\.\d+/)![0];
    const vb = b.match(/^\d+\.\d+/)![0];
    return compareVersions(va, vb) || a.localeCompare(b);
  });
  const nameW = Math.max(8, ...rows.map((r) => r.name.length));
  const w = cols.map((c) => Math.max(4, c.length));
  const lines: string[] = [];
  lines.push(['scenario'.padEnd(nameW), ...cols.map((c, i) => c.padEnd(w[i]!))].join('  '));
  lines.push(['-'.repeat(nameW), ...w.map((x) => '-'.repeat(x))].join('  '));
  for (const r of rows) {
    if (r.parseError) {
      lines.push(`${r.name.padEnd(nameW)}  PARSE ERROR`);
      continue;
    }
    const by = new Map(r.result!.runs.map((x) => [x.kernel, x]));
    lines.push([r.name.padEnd(nameW), ...cols.map((c, i) => cell(by.get(c)).padEnd(w[i]!))].join('  '));
  }
  return lines.join('\n');
}

/** `pinlab profiles`: versions with their knobs, then every knob with its source. */
export function profilesText(): string {
  const out: string[] = [
    'Kernel profiles (a profile is a set of knobs; variants add +knob or remove -knob).',
    `LTS profiles (${LTS.join(', ')}) model the stable branch as shipped today: its mainline base plus the backports listed under each knob.`,
    '',
  ];
  for (const v of VERSIONS) {
    const bp = KNOBS.filter((k) => k.backports?.[v]);
    const tag = LTS.includes(v) ? ` [LTS ${v}.y${bp.length ? `; backports: ${bp.map((k) => `${k.backports![v]!.removes ? '-' : '+'}${k.name}`).join(' ')}` : ''}]` : '';
    out.push(`  ${v.padEnd(5)} ${[...knobsOfVersion(v)].join(' ') || '(base)'}${tag}`);
  }
  out.push('', 'Knobs:', '');
  for (const k of KNOBS) {
    const range = k.since === 'never' ? 'never merged' : k.since === 'arch' ? 'arch feature' : `${k.since}${k.until ? `..<${k.until}` : '+'}`;
    out.push(`  ${k.name}  [${range}]  ${k.commit} "${k.title}" (${k.status})`);
    out.push(`      ${k.effect}`);
    out.push(`      evidence: ${k.evidence}`);
    for (const [br, b] of Object.entries(k.backports ?? {}))
      out.push(`      ${br}.y: ${b!.removes ? 'removal ' : ''}backported in ${b!.release}${b!.commit ? ` (${b!.commit})` : ' (stable commit not found)'}: ${b!.evidence}`);
  }
  const unverified = KNOBS.filter((k) => k.status !== 'VERIFIED');
  out.push('', unverified.length ? `Not verified from source: ${unverified.map((k) => `${k.name} (${k.status})`).join(', ')}` : 'Every knob was read from the kernel source or its patch mails (VERIFIED).');
  return out.join('\n');
}

export function profilesJson(): object {
  return {
    versions: VERSIONS.map((v) => ({ version: v, lts: LTS.includes(v), knobs: [...knobsOfVersion(v)] })),
    knobs: KNOBS,
  };
}
