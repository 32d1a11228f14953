'use strict';
// V8 settings every pinlab command runs with.
//
// START_FLAGS are on node's command line in bin/pinlab.cjs's second line (`exec node FLAGS "$0" "$@"`, run by
// sh; test/v8flags.test.ts checks the two agree), since V8 reads them when it makes the heap. An unknown flag
// there stops node, so only long-standing ones.
//   --max-semi-space-size=2: V8's young generation grows its semi-spaces from 1 MiB up to 16 MiB when much
//   survives its scavenges; pinlab's garbage (the model's per-transition objects, a few hundred bytes a
//   transition in the explorer) dies young, so the bigger nursery only saves scavenges (~0.5 ms each).
//   Measured on the O_DIRECT 5x3 race (369,278 states): 114-119 B of RSS growth per stored state with V8's
//   default, 50-54 B with 2 MiB semi-spaces, in the same search time within the machine's noise.
//
// RUNTIME_FLAGS are set by bin/pinlab.cjs (v8.setFlagsFromString, which ignores a flag a later V8 no longer
// has) before it compiles the bundle, so that the code cache is made and taken under them.
//   --interrupt-budget=270000 (V8 11's default is 132 KiB of bytecode executed): a function is optimised
//   by TurboFan after twice as much work. Most of a `check` runs once or a few times, and optimising it
//   cost more than it returned: `check corpus` median 1.75 -> 1.48 s wall, 2.7 -> 1.85 s CPU; the long
//   explorations, which run the same code millions of times, took the same time within the noise.
//
// bench/spin.bench.ts starts its pinlab child with both (as node flags), as the command runs the explorer;
// scripts/build-cli.mjs makes the code cache under them. To run without either, as V8 would:
// `PINLAB_V8_DEFAULTS=1 node bin/pinlab.cjs ...` (and PINLAB_BENCH_V8_DEFAULTS=1 for the bench's child).
exports.START_FLAGS = ['--max-semi-space-size=2'];
exports.RUNTIME_FLAGS = ['--interrupt-budget=270000'];
exports.applyRuntimeFlags = () => {
  const v8 = require('node:v8');
  for (const f of exports.RUNTIME_FLAGS) v8.setFlagsFromString(f);
};
