#!/usr/bin/env node
// pinlab's command line: run, check, profiles. Errors in input print
// file:line:column with a caret and exit 2; clause failures exit 1.

import { Command, CommanderError, Option } from 'commander';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PinlabSyntaxError } from './lang/errors.js';
import { buildParser } from './lang/parser.js';
import { Prepared, type ProfileRun } from './interp/interpreter.js';
import { availableParallelism } from 'node:os';
import { runScenarioProfile, runScenarioProfiles, shareByDefault } from './interp/runner.js';
import type { RunOptions } from './interp/runner.js';
import { compareVersions, parseVersionItem, profilesOf, ProfileError, VERSIONS, type Profile } from './profiles/profiles.js';
import { profilesJson, profilesText, scenarioPassed, toJson, toText, type CheckRow, type ScenarioResult } from './report/report.js';
import { suggestion } from './lang/errors.js';
import { registerBisect } from './bisect_cli.js';
import { InputError, prepareFile, prepareText, readScenarioFile, resultOf } from './scenario_file.js';
import type { WorkerTask } from './worker.js';
// (in the bundle, for bin/check-worker.cjs)
export { default as runCheckTask } from './worker.js';

/** Parse, check and run one scenario file on its profiles (or the --kernel list), in this thread. */
export function runFile(file: string, kernels: Profile[] | null, xopts: RunOptions = {}): ScenarioResult {
  const { pr, profiles } = prepareFile(file, kernels);
  return resultOf(file, pr, profiles.map((p) => runScenarioProfile(pr, p, xopts)));
}

/**
 * Run many files. With jobs > 1 they go to a piscina worker pool, a file a task (src/worker.ts), or, for a
 * single file, a profile a task; results come back in input order.
 */
async function runFiles(
  files: string[],
  kernels: Profile[] | null,
  xopts: RunOptions,
  jobs: number,
  share: boolean,
): Promise<({ file: string; result: ScenarioResult } | { file: string; error: unknown })[]> {
  // every file is read once, here (it may be a pipe, or change meanwhile); the threads parse the text sent them
  const read = (file: string): { file: string; text: string } | { file: string; error: unknown } => {
    try {
      return { file, text: readScenarioFile(file) };
    } catch (error) {
      return { file, error };
    }
  };
  const prepare = (f: { file: string; text: string } | { file: string; error: unknown }) => {
    if (!('text' in f)) return f;
    try {
      return { file: f.file, ...prepareText(f.file, f.text, kernels) };
    } catch (error) {
      return { file: f.file, error };
    }
  };
  const texts = files.map(read);
  // one file is parsed here, to count its profiles: a single scenario x profile gives the threads to its
  // exploration (explore/parallel.ts, the same result), several profiles go to the pool a profile a task
  const one = files.length === 1 ? prepare(texts[0]!) : null;
  const tasks = one ? ('pr' in one ? one.profiles.length : 0) : files.length;
  // default: one thread -- starting workers (~0.1 s each here) costs more than small checks take
  const workers = Math.min(jobs > 0 ? jobs : 1, tasks, availableParallelism() * 2);
  if (workers <= 1) {
    const x = jobs > 1 && tasks === 1 ? { ...xopts, jobs } : xopts;
    // a scenario's profiles that answer alike what its run asked share the run (runner.ts)
    return (one ? [one] : texts.map(prepare)).map((p) => ('pr' in p ? { file: p.file, result: resultOf(p.file, p.pr, runScenarioProfiles(p.pr, p.profiles, x, share)) } : p));
  }
  const { Piscina } = await import('piscina');
  // the bundled command's threads load the bundle (bin/check-worker.cjs, named by its loader), the compiled tree's this tree
  const filename = (globalThis as { __pinlabCheckWorker?: string }).__pinlabCheckWorker ?? new URL('./worker.js', import.meta.url).href;
  const pool = new Piscina({ filename, maxThreads: workers, minThreads: workers });
  const { progress, ...plain } = xopts;
  void progress;
  const run = (file: string, text: string, names: string[] | null) =>
    pool.run({ file, text, kernels: names, opts: plain, share } satisfies WorkerTask) as Promise<{ result: ScenarioResult } | { error: true }>;
  try {
    if (one) {
      if (!('pr' in one)) return [one];
      const text = (texts[0] as { text: string }).text;
      const results = await Promise.all(one.profiles.map((p) => run(one.file, text, [p.name])));
      // (the text parsed here: a thread that cannot parse it is pinlab's fault)
      if (results.some((r) => !('result' in r))) throw new Error(`a check thread could not prepare ${one.file}, which this thread could`);
      return [{ file: one.file, result: resultOf(one.file, one.pr, results.flatMap((r) => ('result' in r ? r.result.runs : []))) }];
    }
    const names = kernels && kernels.map((k) => k.name);
    return (await Promise.all(
      texts.map(async (f) => {
        if (!('text' in f)) return f;
        const r = await run(f.file, f.text, names);
        if ('result' in r) return { file: f.file, result: r.result };
        // an input error: made again here from the same text, where its class (file:line:column) is known
        const p = prepare(f);
        if ('pr' in p) throw new Error(`a check thread could not prepare ${f.file}, which this thread could`);
        return p;
      }),
    )) as ({ file: string; result: ScenarioResult } | { file: string; error: unknown })[];
  } finally {
    await pool.destroy();
  }
}

function parseKernelList(list: string | undefined): Profile[] | null {
  if (list === undefined) return null;
  const items = list.split(/[\s,]+/).filter(Boolean);
  if (!items.length) throw new InputError(`pinlab: --kernel: give profiles (${VERSIONS.join(', ')}), ranges like 5.9..6.1, bounds like '>=5.11', or all`);
  const matchers = items.map((item) => {
    try {
      return parseVersionItem(item);
    } catch (e) {
      if (!(e instanceof ProfileError)) throw e;
      // as in a file: a misspelt knob gets a did-you-mean, an unknown version the list of versions
      const word = /^[A-Za-z0-9_.]*/.exec(item.slice(e.offset))![0] || item;
      const isKnob = e.offset > 0 && /[+-]/.test(item[e.offset - 1]!) && !/^\d/.test(word);
      const hint = isKnob ? suggestion(word, e.suggestions) || '; `pinlab profiles` lists the knobs' : e.suggestions.length ? `; pinlab models ${VERSIONS.join(', ')}` : '';
      throw new InputError(`pinlab: --kernel ${item}: ${e.message}${hint}\n  ${item}\n  ${' '.repeat(e.offset)}^`);
    }
  });
  const ps = profilesOf(matchers);
  if (!ps.length) throw new InputError(`pinlab: --kernel ${list}: selects no profile pinlab models (${VERSIONS.join(', ')})`);
  return ps;
}

/** Expand directories to their *.pin files (sorted). A directory without any is an input error. */
function expand(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      throw new InputError(`pinlab: cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    if (st.isDirectory()) {
      const before = out.length;
      const walk = (d: string) => {
        for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
          if (e.isDirectory()) walk(join(d, e.name));
          else if (e.name.endsWith('.pin')) out.push(join(d, e.name));
        }
      };
      walk(p);
      if (out.length === before) throw new InputError(`pinlab: no scenarios in ${p}: no .pin file in it or below it`);
    } else out.push(p);
  }
  return out;
}

/** What a cell of the check table says, as in the report: ERR, BOUND, FAIL, n/e, ok, or - (no clause for that profile). */
function cellOf(run: ProfileRun): string {
  if (run.error) return 'ERR';
  if (run.explored && !run.explored.complete) return 'BOUND';
  if (run.checks.some((c) => c.status === 'failed')) return 'FAIL';
  if (run.checks.some((c) => c.status === 'not explored')) return 'n/e';
  return run.checks.length ? 'ok' : '-';
}

const CELL_ORDER = ['FAIL', 'ERR', 'BOUND', 'n/e', 'ok', '-'];
const LEGEND: Record<string, string> = {
  ok: 'every clause passed',
  FAIL: 'a clause failed',
  BOUND: 'exploration stopped at a bound',
  ERR: 'the profile lacks an interface the scenario uses',
  'n/e': 'an exists/never clause not explored',
  '-': 'no clause is for that profile',
  'PARSE ERROR': 'the file did not parse or check (the error is above)',
};

/** Words joined by spaces into lines of at most `width` columns, every line after the first indented by `indent`. */
function wrap(words: string[], width: number, indent: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    const lead = lines.length ? indent : 0;
    if (cur && lead + cur.length + 1 + w.length > width) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines.map((l, i) => (i ? ' '.repeat(indent) + l : l));
}

/**
 * The scenario x profile table of `pinlab check` in at most `width` columns: per scenario, its
 * profiles grouped by result (`FAIL 5.9; ok 4.8 5.8 6.18`), wrapped; and a legend of exactly the
 * results it shows.
 */
export function checkTableText(rows: CheckRow[], width = 100): { table: string; legend: string } {
  const nameW = Math.min(40, Math.max(8, ...rows.map((r) => r.name.length)));
  const indent = nameW + 2;
  const seen = new Set<string>();
  const lines = [`${'scenario'.padEnd(nameW)}  results by profile`, `${'-'.repeat(nameW)}  ${'-'.repeat(width - indent)}`];
  const byVersion = (a: string, b: string) => compareVersions(/^\d+\.\d+/.exec(a)![0], /^\d+\.\d+/.exec(b)![0]) || a.localeCompare(b);
  for (const r of rows) {
    const words: string[] = [];
    if (r.parseError || !r.result) {
      words.push('PARSE ERROR');
      seen.add('PARSE ERROR');
    } else {
      const groups = new Map<string, string[]>();
      for (const run of r.result.runs) {
        const c = cellOf(run);
        groups.set(c, [...(groups.get(c) ?? []), run.kernel]);
      }
      for (const c of CELL_ORDER) {
        const ks = groups.get(c);
        if (!ks) continue;
        seen.add(c);
        if (words.length) words[words.length - 1] += ';';
        words.push(c, ...ks.sort(byVersion));
      }
    }
    const body = wrap(words, width - indent, 2);
    if (r.name.length > nameW) lines.push(r.name, ...body.map((l) => ' '.repeat(indent) + l));
    else lines.push(...body.map((l, i) => (i ? ' '.repeat(indent) : r.name.padEnd(nameW) + '  ') + l));
  }
  const legend = wrap(
    [...CELL_ORDER, 'PARSE ERROR'].filter((c) => seen.has(c)).map((c, i, a) => `${c} = ${LEGEND[c]}${i < a.length - 1 ? ',' : ''}`).join(' ').split(' '),
    width,
    1,
  );
  return { table: lines.join('\n'), legend: legend.length ? `(${legend.join('\n')})` : '' };
}

function positiveInt(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InputError(`pinlab: ${what} must be a positive integer, not '${v}'`);
  return n;
}

/** Explorer bounds from the options, and a one-line progress display on a terminal. */
function exploreOptions(opts: { maxStates: string; maxDepth: string; reduction?: boolean; symmetryPins?: boolean; packedFrontier?: boolean; incrementalHash?: boolean; writeLog?: boolean; compactCtl?: boolean; deltaStates?: boolean; random?: string; seed?: string }): RunOptions {
  const o: RunOptions = {
    maxStates: positiveInt(opts.maxStates, '--max-states'),
    maxDepth: positiveInt(opts.maxDepth, '--max-depth'),
    reduce: opts.reduction !== false,
  };
  // the explorer's switches: off when asked here, else as PINLAB_EXPLORE says (explorer.ts exploreSwitches)
  if (opts.symmetryPins === false) o.symmetryPins = false;
  if (opts.packedFrontier === false) o.packedFrontier = false;
  if (opts.incrementalHash === false) o.incrementalHash = false;
  if (opts.writeLog === false) o.writeLog = false;
  if (opts.compactCtl === false) o.compactCtl = false;
  if (opts.deltaStates === false) o.deltaStates = false;
  if (opts.random !== undefined) {
    o.random = positiveInt(opts.random, '--random');
    const seed = Number(opts.seed ?? '1');
    if (!Number.isInteger(seed)) throw new InputError(`pinlab: --seed must be an integer, not '${opts.seed}'`);
    o.seed = seed;
  }
  if (process.stderr.isTTY) {
    const t0 = performance.now();
    o.progress = (states, transitions, depth) => {
      const s = (performance.now() - t0) / 1000;
      process.stderr.write(`\r  exploring: ${states} states, ${transitions} transitions, depth ${depth}, ${(states / s).toFixed(0)} states/s   `);
    };
  }
  return o;
}

function reportInputError(e: unknown): number {
  if (e instanceof PinlabSyntaxError) {
    process.stderr.write(e.formatFromFile() + '\n');
    return 2;
  }
  if (e instanceof InputError) {
    process.stderr.write(e.message + '\n');
    return 2;
  }
  throw e;
}

/** The explorer options `run` and `check` share. */
function withExploreOptions(cmd: Command): Command {
  return cmd
    .option('--max-states <n>', 'explorer: stop after this many distinct states (reported; the result is incomplete)', '1000000')
    .option('--max-depth <n>', 'explorer: do not go deeper than this many transitions (reported)', '10000')
    .option('--no-reduction', 'explorer: turn off the symmetry reduction over folio numbering')
    .option('--no-symmetry-pins', 'explorer: turn off the symmetry reduction over pin handle numbering')
    .option('--no-packed-frontier', 'explorer: keep each waiting state in an array of its own (slower; for measuring)')
    .option('--no-compact-ctl', 'explorer: give every thread a control-block slot sized for a GUP cursor (larger states; for measuring)')
    .option('--no-delta-states', 'explorer: keep each BFS layer as whole states instead of parent + delta (more memory; for measuring)')
    .option('--no-incremental-hash', 'explorer: rehash every new state whole instead of updating its parent\'s fingerprint (slower; for measuring)')
    .option('--no-write-log', 'explorer: find a transition\'s changed words by comparing the whole state with its parent, not from the model\'s write log, and renumber after every transition (slower; for measuring)');
}

const program = new Command();
program
  .name('pinlab')
  .description("Executable Linux page-pinning semantics: run GUP/COW/writeback scenarios on modelled kernel versions")
  .version('0.1.0')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

withExploreOptions(program.command('run'))
  .description('run scenarios and print what every actor observed, the violations and each clause')
  .argument('<file...>', 'scenario files (.pin) or directories of them')
  .option('-k, --kernel <list>', "profiles to run, e.g. '5.8,5.9,6.18' or '5.9-fork_early_cow_pinned' or 'all' (default: the scenario's kernels line)")
  .option('--json', 'print the JSON report of the spec')
  .option('--trace', 'per step, the kernel functions that ran and each decision with its inputs and the knobs behind it (a `steps` array per profile in --json; witnesses carry theirs)')
  .addOption(new Option('--random <n>', 'instead of exhausting, run n random walks per clause and shrink what they find'))
  .addOption(new Option('--seed <s>', 'seed for --random').default('1'))
  .option('-j, --jobs <n>', 'explorer: worker threads for each exploration (the same search and result as one thread; worth it from ~10^5 states)')
  .action((files: string[], opts: { kernel?: string; json?: boolean; trace?: boolean; maxStates: string; maxDepth: string; reduction: boolean; random?: string; seed: string; jobs?: string }) => {
    let status = 0;
    const docs: object[] = [];
    try {
      const kernels = parseKernelList(opts.kernel);
      const list = expand(files);
      for (const f of list) {
        let r: ScenarioResult;
        try {
          r = runFile(f, kernels, { ...exploreOptions(opts), ...(opts.jobs !== undefined ? { jobs: positiveInt(opts.jobs, '--jobs') } : {}) });
        } catch (e) {
          status = Math.max(status, reportInputError(e));
          continue;
        }
        if (!scenarioPassed(r)) status = Math.max(status, 1);
        if (opts.json) docs.push(toJson(r, { trace: opts.trace }));
        else process.stdout.write(toText(r, { trace: opts.trace }) + '\n' + (list.length > 1 ? '\n' : ''));
      }
    } catch (e) {
      status = reportInputError(e);
    }
    if (opts.json && docs.length) process.stdout.write(JSON.stringify(docs.length === 1 ? docs[0] : docs, null, 2) + '\n');
    process.exitCode = status;
  });

withExploreOptions(program.command('check'))
  .description("run every scenario's clauses on its profiles and print a scenario x profile table")
  .argument('<path...>', 'scenario files or directories of .pin files')
  .option('-k, --kernel <list>', 'override every scenario\'s profiles')
  .option('--json', 'print one JSON document per scenario, in an array')
  .option('-v, --verbose', 'print the full report of every scenario that failed')
  .option('-j, --jobs <n>', 'worker threads (piscina) for independent scenario x profile runs, or for the exploration when there is one (default 1; worth it when explorations take seconds)')
  .option('--no-share', 'compute every scenario x profile run, instead of reusing a run for a profile that answers alike every question (knobs, clauses) it asked of its profile (also PINLAB_NO_SHARE=1; for measuring)')
  .action(async (paths: string[], opts: { kernel?: string; json?: boolean; verbose?: boolean; maxStates: string; maxDepth: string; reduction: boolean; jobs?: string; share: boolean }) => {
    const t0 = process.hrtime.bigint();
    let status = 0;
    try {
      const kernels = parseKernelList(opts.kernel);
      const files = expand(paths);
      const jobs = opts.jobs === undefined ? 0 : positiveInt(opts.jobs, '--jobs');
      const xopts = exploreOptions(opts);
      if (jobs !== 1) delete xopts.progress;
      const results = await runFiles(files, kernels, xopts, jobs, opts.share && shareByDefault());
      const rows: CheckRow[] = [];
      for (const r of results) {
        const name = relative(process.cwd(), r.file) || r.file;
        if ('result' in r) {
          rows.push({ name: r.result.scenario, file: name, result: r.result });
          if (!scenarioPassed(r.result)) status = Math.max(status, 1);
        } else if (r.error instanceof PinlabSyntaxError || r.error instanceof InputError) {
          reportInputError(r.error);
          rows.push({ name, file: name, parseError: r.error.message });
          status = 2;
        } else throw r.error;
      }
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (opts.json) {
        // the results only, not how they were had (shared or computed): the same document as --jobs N, whose workers compute every run
        process.stdout.write(JSON.stringify(rows.map((r) => (r.result ? toJson(r.result) : { file: r.file, error: r.parseError })), null, 2) + '\n');
      } else {
        if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
        const { table, legend } = checkTableText(rows);
        process.stdout.write(table + '\n\n');
        const runs = rows.flatMap((r) => r.result?.runs ?? []);
        const checks = runs.flatMap((x) => x.checks);
        const explored = runs.filter((x) => x.explored);
        const states = explored.reduce((n, x) => n + x.explored!.states, 0);
        const shared = runs.filter((x) => x.sharedFrom).length;
        const failedRows = rows.filter((r) => r.parseError || (r.result && !scenarioPassed(r.result)));
        process.stdout.write(
          `${rows.length} scenarios, ${runs.length} profile runs (${runs.length - shared} computed, ${shared} shared; ${explored.length} explored, ${states} states):\n` +
            `${checks.filter((c) => c.status === 'passed').length} clause checks passed, ${checks.filter((c) => c.status === 'failed').length} failed` +
            `${checks.some((c) => c.status === 'not explored') ? `, ${checks.filter((c) => c.status === 'not explored').length} not explored` : ''}` +
            ` in ${ms.toFixed(0)} ms\n${legend}\n`,
        );
        for (const r of failedRows) {
          if (!r.result) continue;
          process.stdout.write(`\nFAILED ${r.name} (${r.file})\n`);
          if (opts.verbose) process.stdout.write(toText(r.result) + '\n');
          else
            for (const run of r.result.runs) {
              if (run.error) process.stdout.write(`  ${run.kernel}: ${run.error}\n`);
              if (run.explored && !run.explored.complete && !run.explored.random) process.stdout.write(`  ${run.kernel}: exploration incomplete (${run.explored.bound} bound)\n`);
              for (const c of run.checks.filter((c) => c.status === 'failed'))
                process.stdout.write(`  ${run.kernel}: line ${c.line}: ${c.clause}${c.reason ? ` -- ${c.reason}` : ''}\n`);
            }
        }
      }
    } catch (e) {
      status = reportInputError(e);
    }
    process.exitCode = status;
  });

program
  .command('real')
  .description('run scenarios on real kernels (this machine, or Debian kernels in QEMU guests) through the native runner and hold the model (matching profile) to each, step by step')
  .argument('<file...>', 'scenario files or directories')
  .option('--json', 'print the JSON report')
  .option('--vm <list>', "kernels to run on: host, 6.1, 6.12 (Debian's, in QEMU guests), 6.1-pinlab, 6.12-pinlab (pinlab's test kernels, built on first use), all, or a comma list (default: host)")
  .option('-j, --jobs <n>', 'run up to n kernels at once (guests are limited by free memory)', '1')
  .addHelpText(
    'after',
    `
Exit status: 0 model and kernel agree on every scenario that ran; 1 a disagreement; 2 malformed input, or a
guest that cannot be had; 3 no scenario ran (every one skipped, each with its reason): nothing was compared.

What it changes on this machine (nr_hugepages for MAP_HUGETLB, temporary directories, an ext4 image of its
own when TMPDIR is not on ext4) is recorded in /var/tmp/pinlab-restore-UID-PID.json before it is changed and
given back on exit, on SIGINT, SIGTERM and SIGHUP (then the status is 128+signal) and, after a SIGKILL, by
the next pinlab real, which says so on stderr. Files of ext4 scenarios go under TMPDIR (else /tmp); if that
is not ext4, root gets a loop-mounted ext4 image of pinlab's own, anyone else a skip that says what to do.`,
  )
  .action(async (paths: string[], opts: { json?: boolean; vm?: string; jobs: string }) => {
    const { hostTarget, realScenario, realText, realRun } = await import('./real/differential.js');
    const { recoverStale, restoreAll } = await import('./real/host_settings.js');
    let status = 0;
    // progress overwrites its line (\r) only on a terminal; a pipe or a file gets whole lines
    const tty = process.stderr.isTTY === true;
    const say = (s: string) => process.stderr.write(tty ? `\r\x1b[K${s}\n` : `${s}\n`);
    // what a run that was SIGKILLed left changed: give it back before anything else
    for (const line of recoverStale()) process.stderr.write(`pinlab real: ${line}\n`);
    let names: string[];
    let jobs: number;
    const prepared: { file: string; pr: Prepared }[] = [];
    try {
      jobs = positiveInt(opts.jobs, '--jobs');
      const vm = opts.vm === undefined ? null : await import('./real/vm/index.js');
      try {
        names = vm && opts.vm !== undefined ? vm.parseVmList(opts.vm) : ['host'];
      } catch (e) {
        throw new InputError(`pinlab: ${(e as Error).message}`);
      }
      for (const file of expand(paths)) {
        try {
          prepared.push({ file, pr: prepareFile(file, null).pr });
        } catch (e) {
          status = Math.max(status, reportInputError(e));
        }
      }
    } catch (e) {
      process.exitCode = reportInputError(e);
      return;
    }
    /** One kernel: boot it if it is a guest, run every scenario, shut it down. */
    const runOn = async (name: string) => {
      let guest: { shutdown(): Promise<void>; kill(): void } | null = null;
      try {
        let target;
        if (name === 'host') target = await hostTarget((s) => say(`pinlab real: ${s}`));
        else {
          const vm = await import('./real/vm/index.js');
          const t0 = Date.now();
          const gopts = await vm.prepareGuest(name, (s) => say(`${name}: ${s}`));
          say(`${name}: booting ${gopts.kernel.pkg} ${gopts.kernel.version} under QEMU (prepared in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
          const b = await vm.bootTarget(gopts);
          guest = b.guest;
          target = b.target;
          say(`${name}: ${target.release} answered after ${((target.bootMs ?? 0) / 1000).toFixed(1)} s; held to profile ${target.profile.name}`);
        }
        const reps = [];
        let k = 0;
        for (const { file, pr } of prepared) {
          if (tty) process.stderr.write(`\r\x1b[K${name}: ${++k}/${prepared.length} ${file}`);
          reps.push(await realScenario(file, pr.sc, pr.info, target));
        }
        if (tty) process.stderr.write('\r\x1b[K');
        if (guest) await guest.shutdown();
        return { target, reps };
      } catch (e) {
        guest?.kill();
        const vm = await import('./real/vm/index.js');
        if (e instanceof vm.VmError) return { error: `${name}: ${e.message}` };
        throw e;
      }
    };
    const results: Awaited<ReturnType<typeof runOn>>[] = new Array(names.length);
    let next = 0;
    const width = Math.min(jobs, names.length, names.filter((n) => n !== 'host').length ? (await import('./real/vm/index.js')).guestsThatFit() + 1 : names.length);
    try {
      await Promise.all(
        Array.from({ length: Math.max(1, width) }, async () => {
          while (next < names.length) {
            const i = next++;
            results[i] = await runOn(names[i]!);
          }
        }),
      );
    } finally {
      restoreAll(); // the ext4 image, if one was made (every scenario gave back its own huge pages already)
    }
    const runs = [];
    for (const r of results) {
      if ('error' in r) {
        process.stderr.write(`pinlab real: ${r.error}\n`);
        status = Math.max(status, 2);
        continue;
      }
      runs.push({ run: realRun(r.target, r.reps), target: r.target, reps: r.reps });
    }
    const dis = runs.reduce((n, r) => n + r.run.disagreements, 0);
    if (opts.json) {
      const doc = runs.length === 1 && names.length === 1 ? runs[0]!.run : { runs: runs.map((r) => r.run), disagreements: dis };
      process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
    } else if (runs.length) {
      process.stdout.write(runs.map((r) => realText(r.target, r.reps)).join('\n\n') + '\n');
      if (runs.length > 1)
        process.stdout.write(
          '\n' +
            runs
              .map((r) => {
                const ran = r.reps.filter((x) => x.status === 'ran').length;
                return `${r.target.name.padEnd(5)} ${r.target.release.padEnd(24)} profile ${r.target.profile.name.padEnd(6)} ${ran} ran, ${r.reps.length - ran} skipped, ${r.run.disagreements ? `${r.run.disagreements} DISAGREEMENT(S)` : 'agree'}`;
              })
              .join('\n') +
            '\n',
        );
    }
    const ranAny = runs.some((r) => r.reps.some((x) => x.status === 'ran'));
    if (!opts.json && runs.length > 1 && !ranAny) process.stdout.write(`no scenario ran on any kernel: all ${runs.reduce((n, r) => n + r.reps.length, 0)} skipped\n`);
    process.exitCode = status || (dis ? 1 : !ranAny ? 3 : 0);
  });

const vmCmd = program.command('vm').description("pinlab's QEMU guests: build the test kernels");
vmCmd
  .command('build')
  .description("build pinlab's test kernels (6.1, 6.12: Debian's source, tinyconfig, the pinning test device built in) into the cache; a cached one is only reported")
  .argument('<kernel...>', '6.1, 6.12 or all')
  .action(async (kernels: string[]) => {
    const { TEST_KERNEL_BRANCHES, testKernelArtifacts } = await import('./real/vm/build.js');
    const { VmError } = await import('./real/vm/debian.js');
    const list = kernels.flatMap((k) => (k === 'all' ? TEST_KERNEL_BRANCHES : [k.replace(/-pinlab$/, '')]));
    const bad = list.filter((k) => !TEST_KERNEL_BRANCHES.includes(k));
    if (bad.length) {
      process.stderr.write(`pinlab: no test kernel '${bad.join("', '")}' (known: ${TEST_KERNEL_BRANCHES.join(', ')}, all)\n`);
      process.exitCode = 2;
      return;
    }
    for (const k of list) {
      const t0 = Date.now();
      try {
        const a = await testKernelArtifacts(k, (s) => process.stderr.write(`${k}: ${s}\n`));
        process.stdout.write(`${k}-pinlab: ${a.release} (${a.pkg} ${a.version}) ${a.vmlinuz} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
      } catch (e) {
        if (!(e instanceof VmError)) throw e;
        process.stderr.write(`pinlab vm build ${k}: ${e.message}\n`);
        process.exitCode = 2;
      }
    }
  });

program
  .command('serve')
  .description('serve the web page (editor, outcome matrix, step view) on 127.0.0.1')
  .option('--port <n>', 'port (0 picks a free one)', '7878')
  .action(async (opts: { port: string }) => {
    const port = Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      process.stderr.write(`pinlab: --port must be 0..65535, not '${opts.port}'\n`);
      process.exitCode = 2;
      return;
    }
    const { serve } = await import('./serve.js');
    try {
      const { url } = await serve(port);
      process.stdout.write(`pinlab serve: ${url}\n`);
    } catch (e) {
      process.stderr.write(`pinlab: cannot listen on 127.0.0.1:${port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
      process.exitCode = 2;
    }
  });

program
  .command('profiles')
  .description('list kernel profiles, their knobs, and the commit behind each knob')
  .option('--json', 'machine-readable')
  .action((opts: { json?: boolean }) => {
    process.stdout.write((opts.json ? JSON.stringify(profilesJson(), null, 2) : profilesText()) + '\n');
  });

registerBisect(program);
/** Run the command line (process.argv). */
function main(): void {
  // A reader that went away (`pinlab check corpus | head -1`): stop quietly, as a program killed by
  // SIGPIPE would (status 141), instead of dying on an unhandled EPIPE. 'exit' handlers still run
  // (pinlab real gives back what it changed on the machine).
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(141);
      throw e;
    });
  }
  // (a promise chain, not a top-level await: the bundle is CommonJS, scripts/build-cli.mjs)
  program.parseAsync().catch((e: unknown) => {
    if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
    else {
      process.stderr.write(`pinlab: internal error: ${(e as Error).message}\n`);
      if (process.env.PINLAB_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
      process.exitCode = 70;
    }
  });
}

// Now; or, when node is building pinlab's startup snapshot from the bundle (scripts/snapshot-prologue.cjs
// says how), in each process started from that snapshot: everything above is module set-up, which reads
// nothing of the process it runs in (argv, environment, streams), so it can be made once at build time.
// The snapshot's build also calls buildParser (the second argument), so that the lexer and parser, which a
// process without the snapshot makes at its first scenario, are in the snapshot too.
// A worker thread loads the bundle for runCheckTask only (bin/load-bundle.cjs): its loader's hook takes main and drops it.
const later = (globalThis as { __pinlabDeferMain?: (run: () => void, prepare: () => void) => void }).__pinlabDeferMain;
if (later) later(main, buildParser);
else main();
