#!/usr/bin/env node
// pinlab's command line: run, check, profiles. Errors in input print
// file:line:column with a caret and exit 2; clause failures exit 1.

import { Command, CommanderError } from 'commander';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseScenario } from './lang/parser.js';
import { checkScenario } from './lang/check.js';
import { PinlabSyntaxError } from './lang/errors.js';
import { Prepared } from './interp/interpreter.js';
import { runScenarioProfile } from './interp/runner.js';
import type { ExploreOptions } from './explore/explorer.js';
import { allProfiles, parseProfileText, ProfileError, type Profile } from './profiles/profiles.js';
import { checkTable, profilesJson, profilesText, scenarioPassed, toJson, toText, type CheckRow, type ScenarioResult } from './report/report.js';

class InputError extends Error {}

/** Parse, check and run one scenario file on its profiles (or the --kernel list). */
export function runFile(file: string, kernels: Profile[] | null, xopts: ExploreOptions = {}): ScenarioResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`pinlab: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const sc = parseScenario(text, file);
  const info = checkScenario(sc);
  const pr = new Prepared(sc, info);
  const profiles = kernels ?? (sc.kernels.length ? sc.kernels.map((r) => parseProfileText(r.text)) : allProfiles());
  return {
    scenario: sc.name,
    file,
    source: sc.source,
    concurrent: pr.concurrent,
    runs: profiles.map((p) => runScenarioProfile(pr, p, xopts)),
  };
}

function parseKernelList(list: string | undefined): Profile[] | null {
  if (!list) return null;
  const items = list.split(/[\s,]+/).filter(Boolean);
  if (items.length === 1 && items[0] === 'all') return allProfiles();
  try {
    return items.map(parseProfileText);
  } catch (e) {
    if (e instanceof ProfileError) {
      throw new InputError(`pinlab: --kernel: ${e.message}${e.suggestions.length ? ` (known: ${e.suggestions.slice(0, 14).join(' ')})` : ''}`);
    }
    throw e;
  }
}

/** Expand directories to their *.pin files (sorted). */
function expand(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new InputError(`pinlab: cannot read ${p}: ENOENT`);
    }
    if (st.isDirectory()) {
      const walk = (d: string) => {
        for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
          if (e.isDirectory()) walk(join(d, e.name));
          else if (e.name.endsWith('.pin')) out.push(join(d, e.name));
        }
      };
      walk(p);
    } else out.push(p);
  }
  return out;
}

function positiveInt(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InputError(`pinlab: ${what} must be a positive integer, not '${v}'`);
  return n;
}

/** Explorer bounds from the options, and a one-line progress display on a terminal. */
function exploreOptions(opts: { maxStates: string; maxDepth: string; reduction?: boolean }): ExploreOptions {
  const o: ExploreOptions = {
    maxStates: positiveInt(opts.maxStates, '--max-states'),
    maxDepth: positiveInt(opts.maxDepth, '--max-depth'),
    reduce: opts.reduction !== false,
  };
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
    let lines: string[] = [];
    try {
      lines = readFileSync(e.file, 'utf8').split(/\r?\n/);
    } catch {
      /* the message alone */
    }
    process.stderr.write(e.format(lines) + '\n');
    return 2;
  }
  if (e instanceof InputError) {
    process.stderr.write(e.message + '\n');
    return 2;
  }
  throw e;
}

const program = new Command();
program
  .name('pinlab')
  .description("Executable Linux page-pinning semantics: run GUP/COW/writeback scenarios on modelled kernel versions")
  .version('0.1.0')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

program
  .command('run')
  .description('run scenarios and print what every actor observed, the violations and each clause')
  .argument('<file...>', 'scenario files (.pin)')
  .option('-k, --kernel <list>', "profiles to run, e.g. '5.8,5.9,6.18' or '5.9-fork_early_cow_pinned' or 'all' (default: the scenario's kernels line)")
  .option('--json', 'print the JSON report of the spec')
  .option('--max-states <n>', 'explorer: stop after this many distinct states (reported, and the result is incomplete)', '1000000')
  .option('--max-depth <n>', 'explorer: do not go deeper than this many transitions (reported)', '10000')
  .option('--no-reduction', 'explorer: turn off the symmetry reduction over folio numbering')
  .action((files: string[], opts: { kernel?: string; json?: boolean; maxStates: string; maxDepth: string; reduction: boolean }) => {
    let status = 0;
    const docs: object[] = [];
    try {
      const kernels = parseKernelList(opts.kernel);
      for (const f of files) {
        let r: ScenarioResult;
        try {
          r = runFile(f, kernels, exploreOptions(opts));
        } catch (e) {
          status = Math.max(status, reportInputError(e));
          continue;
        }
        if (!scenarioPassed(r)) status = Math.max(status, 1);
        if (opts.json) docs.push(toJson(r));
        else process.stdout.write(toText(r) + '\n' + (files.length > 1 ? '\n' : ''));
      }
    } catch (e) {
      status = reportInputError(e);
    }
    if (opts.json && docs.length) process.stdout.write(JSON.stringify(docs.length === 1 ? docs[0] : docs, null, 2) + '\n');
    process.exitCode = status;
  });

program
  .command('check')
  .description("run every scenario's clauses on its profiles and print a scenario x profile table")
  .argument('<path...>', 'scenario files or directories of .pin files')
  .option('-k, --kernel <list>', 'override every scenario\'s profiles')
  .option('--json', 'print one JSON document per scenario, in an array')
  .option('-v, --verbose', 'print the full report of every scenario that failed')
  .option('--max-states <n>', 'explorer bound per scenario and profile', '1000000')
  .option('--max-depth <n>', 'explorer depth bound', '10000')
  .option('--no-reduction', 'explorer: turn off the symmetry reduction over folio numbering')
  .action((paths: string[], opts: { kernel?: string; json?: boolean; verbose?: boolean; maxStates: string; maxDepth: string; reduction: boolean }) => {
    const t0 = process.hrtime.bigint();
    let status = 0;
    try {
      const kernels = parseKernelList(opts.kernel);
      const files = expand(paths);
      const rows: CheckRow[] = [];
      for (const f of files) {
        const name = relative(process.cwd(), f) || f;
        try {
          const r = runFile(f, kernels, exploreOptions(opts));
          rows.push({ name: r.scenario, file: name, result: r });
          if (!scenarioPassed(r)) status = Math.max(status, 1);
        } catch (e) {
          if (e instanceof PinlabSyntaxError || e instanceof InputError) {
            reportInputError(e);
            rows.push({ name, file: name, parseError: e.message });
            status = 2;
          } else throw e;
        }
      }
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (opts.json) {
        process.stdout.write(JSON.stringify(rows.map((r) => (r.result ? toJson(r.result) : { file: r.file, error: r.parseError })), null, 2) + '\n');
      } else {
        process.stdout.write(checkTable(rows) + '\n\n');
        const runs = rows.flatMap((r) => r.result?.runs ?? []);
        const checks = runs.flatMap((x) => x.checks);
        const failedRows = rows.filter((r) => r.parseError || (r.result && !scenarioPassed(r.result)));
        process.stdout.write(
          `${rows.length} scenarios, ${runs.length} profile runs: ${checks.filter((c) => c.status === 'passed').length} clause checks passed, ` +
            `${checks.filter((c) => c.status === 'failed').length} failed, ${checks.filter((c) => c.status === 'not explored').length} not explored` +
            ` (ok = every clause passed; n/e = exists/never not explored until the explorer lands) in ${ms.toFixed(0)} ms\n`,
        );
        for (const r of failedRows) {
          if (!r.result) continue;
          process.stdout.write(`\nFAILED ${r.name} (${r.file})\n`);
          if (opts.verbose) process.stdout.write(toText(r.result) + '\n');
          else
            for (const run of r.result.runs) {
              if (run.error) process.stdout.write(`  ${run.kernel}: ${run.error}\n`);
              for (const c of run.checks.filter((c) => c.status === 'failed'))
                process.stdout.write(`  ${run.kernel}: line ${c.line}: ${c.clause}\n`);
            }
        }
      }
    } catch (e) {
      status = reportInputError(e);
    }
    process.exitCode = status;
  });

program
  .command('profiles')
  .description('list kernel profiles, their knobs, and the commit behind each knob')
  .option('--json', 'machine-readable')
  .action((opts: { json?: boolean }) => {
    process.stdout.write((opts.json ? JSON.stringify(profilesJson(), null, 2) : profilesText()) + '\n');
  });

try {
  program.parse();
} catch (e) {
  if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
  else {
    process.stderr.write(`pinlab: internal error: ${(e as Error).message}\n`);
    process.exitCode = 70;
  }
}
