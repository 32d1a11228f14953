// `pinlab bisect FILE [--from A --to B] [--json]`: the knobs (kernel commits)
// behind each change in what a scenario observes between two profiles, or,
// without profiles, the scenario's timeline across every plain profile.
// The logic is src/bisect.ts; this file reads the file and prints.

import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { parseScenario } from './lang/parser.js';
import { checkScenario } from './lang/check.js';
import { PinlabSyntaxError, suggestion } from './lang/errors.js';
import { Prepared } from './interp/interpreter.js';
import { parseProfileText, ProfileError, VERSIONS, type Profile } from './profiles/profiles.js';
import { Bisector, bisectJson, bisectText, timeline, timelineText, type BisectOptions } from './bisect.js';

class BisectInputError extends Error {}

function positive(s: string, what: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n <= 0) throw new BisectInputError(`pinlab: ${what} takes a positive integer, not '${s}'`);
  return n;
}

function profileArg(text: string, opt: string): Profile {
  try {
    return parseProfileText(text);
  } catch (e) {
    if (!(e instanceof ProfileError)) throw e;
    const word = /^[A-Za-z0-9_.]*/.exec(text.slice(e.offset))![0] || text;
    const isKnob = e.offset > 0 && /[+-]/.test(text[e.offset - 1]!) && !/^\d/.test(word);
    const hint = isKnob ? suggestion(word, e.suggestions) || '; `pinlab profiles` lists the knobs' : `; pinlab models ${VERSIONS.join(', ')}`;
    throw new BisectInputError(`pinlab: ${opt} ${text}: ${e.message}${hint}\n  ${text}\n  ${' '.repeat(e.offset)}^`);
  }
}

function prepare(file: string): Prepared {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new BisectInputError(`pinlab: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const sc = parseScenario(text, file);
  return new Prepared(sc, checkScenario(sc));
}

/** Add `pinlab bisect` to the program. */
export function registerBisect(program: Command): void {
  program
    .command('bisect')
    .description(
      'name the knobs (kernel commits) that change what a scenario observes between two profiles (delta debugging over the knobs that differ), or, without --from/--to, its timeline across every profile',
    )
    .argument('<file>', 'a scenario file (.pin)')
    .option('--from <profile>', "the old profile, e.g. 5.8 or '5.9-fork_early_cow_pinned'")
    .option('--to <profile>', 'the new profile')
    .option('--json', 'print JSON')
    .option('--steps', 'timeline: also print the step where each change first diverges')
    .option('--max-states <n>', 'explorer (races): stop after this many distinct states per profile run (reported as incomplete)', '1000000')
    .option('--max-depth <n>', 'explorer (races): do not go deeper than this many transitions', '10000')
    .action((file: string, opts: { from?: string; to?: string; json?: boolean; steps?: boolean; maxStates: string; maxDepth: string }) => {
      try {
        if ((opts.from === undefined) !== (opts.to === undefined)) throw new BisectInputError('pinlab bisect: give both --from and --to, or neither (the timeline)');
        const bopts: BisectOptions = { run: { maxStates: positive(opts.maxStates, '--max-states'), maxDepth: positive(opts.maxDepth, '--max-depth') } };
        const from = opts.from !== undefined ? profileArg(opts.from, '--from') : null;
        const to = opts.to !== undefined ? profileArg(opts.to, '--to') : null;
        const pr = prepare(file);
        if (from && to) {
          const r = new Bisector(pr, bopts).bisect(from, to);
          process.stdout.write((opts.json ? JSON.stringify(bisectJson(r), null, 2) : bisectText(r, pr.sc.name)) + '\n');
        } else {
          const t = timeline(pr, bopts);
          const doc = { scenario: t.scenario, file, profiles: t.profiles, spans: t.spans, boundaries: t.boundaries.map(bisectJson) };
          process.stdout.write((opts.json ? JSON.stringify(doc, null, 2) : timelineText(t, { steps: opts.steps })) + '\n');
        }
        process.exitCode = 0;
      } catch (e) {
        if (e instanceof PinlabSyntaxError) {
          process.stderr.write(e.formatFromFile() + '\n');
          process.exitCode = 2;
        } else if (e instanceof BisectInputError) {
          process.stderr.write(e.message + '\n');
          process.exitCode = 2;
        } else throw e;
      }
    });
}
