'use strict';
// The node flags pinlab's command starts with: bin/pinlab.cjs's #! line (`env -S node FLAGS`) says them
// again, and test/cli.test.ts checks that the two agree. bench/spin.bench.ts starts its pinlab child with
// them, as the command runs the explorer; scripts/build-cli.mjs makes the code cache under them.
//
// --max-semi-space-size=2: V8's young generation grows from 1 MiB semi-spaces up to 16 MiB when much
// survives its scavenges; pinlab's garbage (the model's per-transition objects, a few hundred bytes a
// transition in the explorer) dies young, so the bigger nursery only saves scavenges (~0.5 ms each).
// Measured on the O_DIRECT 5x3 race (369,278 states): 114-119 B of RSS growth per stored state with
// V8's default, 50-54 B with 2 MiB semi-spaces, in the same search time within the machine's noise.
exports.V8_FLAGS = ['--max-semi-space-size=2'];
