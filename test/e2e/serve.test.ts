// `pinlab serve` end to end in a real browser: the system Chromium driven by
// playwright-core (no browser download). Loads the page, opens corpus
// 84-ro-pin-previously-shared, reads the outcome matrix and the knob tooltip, steps
// 5.9 beside 5.19 to the DMA_LOST step, follows a knob chip to the step where
// that knob decided something, steps through a race's witness (corpus 24) with
// the other profile replaying it, shows a bounded exploration as INCOMPLETE,
// types a syntax error and compares the inline message with the CLI's; on a
// second server with large limits, a long exploration's progress, an edit that
// replaces it and Cancel. Screenshots go to test-output/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { tempDir } from '../tmp.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'dist/src/cli.js');
const out = join(root, 'test-output');
const chromiumPath = process.env.PINLAB_CHROMIUM || '/usr/bin/chromium';
/** Five racing threads: explodes (~136,000 states on 6.18) */
const RACE5 = readFileSync(join(root, 'test/e2e/five-thread-race.pin'), 'utf8');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start `pinlab serve --port 0` and resolve with the URL it prints. */
function startServer(env: Record<string, string> = {}): Promise<{ proc: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [cli, 'serve', '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      proc.kill();
      reject(new Error(`pinlab serve printed no URL within 20 s\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 20_000);
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const m = /pinlab serve: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1]! });
      }
    });
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`pinlab serve exited with ${code} before printing its URL\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });
}

/** Poll `get` until `ok` holds; fail with the last value seen. */
async function eventually<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeout = 15_000): Promise<T> {
  const end = Date.now() + timeout;
  let v = await get();
  while (!ok(v)) {
    if (Date.now() > end) assert.fail(`${what}: last seen ${JSON.stringify(v)}`);
    await sleep(100);
    v = await get();
  }
  return v;
}

const text = async (l: Locator) => ((await l.innerText()) ?? '').replace(/\s+/g, ' ').trim();

/** The page's URL for a scenario text (the Share link's form). */
const shared = (url: string, scenario: string) => url + '#s=' + Buffer.from(scenario, 'utf8').toString('base64url');

async function serverStatus(url: string): Promise<{ running: number; queued: number; threads: number; idle: number }> {
  return (await (await fetch(url + 'api/status')).json()) as { running: number; queued: number; threads: number; idle: number };
}

/** The bound of the main server: small, so that a race is cut short quickly. */
const MAX_STATES = 3000;

test('pinlab serve in Chromium: matrix, knob tooltip, step view, inline errors, share link', { timeout: 180_000 }, async (t) => {
  if (!existsSync(chromiumPath)) {
    t.skip(`no browser executable at ${chromiumPath} (set PINLAB_CHROMIUM)`);
    return;
  }
  assert.ok(existsSync(join(root, 'dist/web/app.js')), 'dist/web/app.js is missing: run `node scripts/build-web.mjs`');
  mkdirSync(out, { recursive: true });

  const server = await startServer({ PINLAB_SERVE_MAX_STATES: String(MAX_STATES) });
  let server2: { proc: ChildProcess; url: string } | null = null;
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'], headless: true });
    const page: Page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.setDefaultTimeout(15_000);
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(server.url) && !r.url().startsWith('data:')) external.push(r.url());
    });

    await page.goto(server.url);

    await t.test('the corpus picker opens 84-ro-pin-previously-shared', async () => {
      const picker = page.getByTestId('corpus-picker');
      await picker.locator('option[value="84-ro-pin-previously-shared"]').waitFor({ state: 'attached' });
      // the picker lists every group, with ids unique
      assert.ok((await picker.locator('optgroup').count()) >= 3, 'corpus, corpus/real and corpus/selftests groups (and the seeds when ../shared is there)');
      assert.ok((await picker.locator('option[value^="real/"]').count()) > 0, 'corpus/real scenarios are listed');
      await picker.selectOption('84-ro-pin-previously-shared');
      await eventually('scenario name above the matrix', () => text(page.getByTestId('scenario-name')), (s) => s === 'ro-pin-previously-shared');
      const src = await page.getByTestId('editor-input').inputValue();
      assert.match(src, /^scenario ro-pin-previously-shared$/m);
      assert.match(page.url(), /#c=84-ro-pin-previously-shared$/);
    });

    await t.test('the matrix: DMA_LOST on 5.9, clean on 6.18, every clause passes', async () => {
      assert.match(await text(page.getByTestId('cell-outcome-5.9')), /DMA_LOST/);
      assert.equal(await text(page.getByTestId('cell-outcome-6.18')), 'clean');
      assert.equal(await text(page.getByTestId('cell-violation-DMA_LOST-5.9')), 'line 18');
      assert.match(await text(page.getByTestId('cell-violation-DMA_LOST-5.18')), /line 18/);
      assert.equal(await text(page.getByTestId('cell-violation-DMA_LOST-6.18')), '—');
      assert.equal(await text(page.getByTestId('cell-violation-DMA_LOST-5.19')), '—');
      assert.equal(await text(page.getByTestId('cell-r-5.9')), "'y'");
      assert.equal(await text(page.getByTestId('cell-r-6.18')), "'z'");
      assert.equal(await text(page.getByTestId('cell-r-5.8')), "'z'");
      // the violation row is red on 5.9 and not on 6.18
      assert.match((await page.getByTestId('cell-violation-DMA_LOST-5.9').getAttribute('class')) ?? '', /\bbad\b/);
      assert.doesNotMatch((await page.getByTestId('cell-violation-DMA_LOST-6.18').getAttribute('class')) ?? '', /\bbad\b/);
      await page.getByTestId('violation-DMA_LOST').waitFor();
      const clauseCells = page.locator('[data-testid^="cell-clause-"]');
      const cells = await clauseCells.allTextContents();
      assert.equal(cells.filter((c) => c.trim() === 'PASS').length, 5, `one PASS per profile: ${cells.join(',')}`);
      assert.ok(!cells.some((c) => c.includes('FAIL')));
    });

    await t.test('hovering Δ between 5.18 and 5.19 shows the knobs and commits that differ', async () => {
      assert.equal(await page.getByTestId('knob-tooltip').count(), 0, 'no tooltip before hovering');
      await page.getByTestId('delta-5.18-5.19').hover();
      const tip = page.getByTestId('knob-tooltip');
      await tip.waitFor({ state: 'visible' });
      const s = await text(tip);
      assert.match(s, /5\.18 → 5\.19/);
      assert.match(s, /page_anon_exclusive|gup_unshare_anon/);
      assert.match(s, /\b[0-9a-f]{12}\b/, 'the tooltip names a commit');
      assert.match(s, /outcome changes here/);
      await page.screenshot({ path: join(out, 'matrix.png') });
      await page.mouse.move(5, 5);
      await eventually('tooltip hidden', () => page.getByTestId('knob-tooltip').count(), (n) => n === 0);
    });

    await t.test('step view: 5.9 beside 5.19, stepped to the violating step', async () => {
      await page.getByTestId('step-profile-a').selectOption('5.9');
      await page.getByTestId('step-profile-b').selectOption('5.19');
      const sideA = page.getByTestId('side-a');
      const sideB = page.getByTestId('side-b');
      await eventually('side a shows 5.9', async () => (await sideA.getAttribute('data-profile')) ?? '', (p) => p === '5.9');
      await eventually('side b shows 5.19', async () => (await sideB.getAttribute('data-profile')) ?? '', (p) => p === '5.19');
      await page.getByTestId('diagram-a').waitFor();
      await page.getByTestId('step-slider').fill('0');
      await eventually('back at the start', () => text(page.getByTestId('step-pos')), (s) => s === 'before step 1');
      const banner = sideA.getByTestId('step-violation');
      let clicks = 0;
      let sawCopy = false;
      while ((await banner.count()) === 0) {
        assert.ok(clicks < 20, 'no step of 5.9 raised a violation');
        await page.getByTestId('step-next').click();
        clicks++;
        await eventually('step position', () => text(page.getByTestId('step-pos')), (s) => s.startsWith(`step ${clicks} /`));
        // the write fault of line 16: 5.9 copies the pinned page, 5.19 reuses it
        const head = await text(sideA.locator('.side-head'));
        if (head.includes("buf[0] = 'y'")) {
          sawCopy = true;
          assert.match(await text(sideA.getByTestId('trace-a')), /wp_page_copy/);
          assert.match(await text(sideB.getByTestId('trace-b')), /wp_page_reuse/);
        }
      }
      assert.ok(sawCopy, "stepped over A: buf[0] = 'y'");
      const b = await text(banner);
      assert.match(b, /DMA_LOST/);
      assert.match(b, /line 18/);
      assert.match(await text(sideA.locator('.side-head')), /dma_write\(pin, 0, 'z'\)/);
      // the folios named by the violation are marked: #1 the device wrote, #2 the process maps
      const diagA = page.getByTestId('diagram-a');
      assert.ok((await diagA.locator('[data-testid^="folio-"][data-marked="true"]').count()) >= 1, 'a folio card is marked');
      assert.equal(await diagA.getByTestId('folio-1').getAttribute('data-marked'), 'true');
      assert.equal(await diagA.getByTestId('folio-2').getAttribute('data-marked'), 'true');
      assert.match(await text(diagA.getByTestId('folio-1')), /'z'/, 'the device wrote z into folio #1');
      assert.match(await text(diagA.getByTestId('folio-2')), /'y'/, 'A wrote y into folio #2');
      assert.match(await text(diagA.locator('[data-testid^="pte-A-"]').first()), /→ #2/);
      // 5.19 at the same step: no violation, A still maps the pinned folio #1, which holds z
      assert.equal(await sideB.getByTestId('step-violation').count(), 0);
      const diagB = page.getByTestId('diagram-b');
      assert.match(await text(diagB.locator('[data-testid^="pte-A-"]').first()), /→ #1/);
      assert.match(await text(diagB.getByTestId('folio-1')), /'z'/);
      assert.equal(await diagB.getByTestId('folio-2').count(), 0);
      // what differs is marked on both sides
      assert.equal(await diagA.getByTestId('folio-2').getAttribute('data-differs'), 'true');
      assert.ok((await diagB.getByTestId('neq').count()) >= 1);
      // edges are drawn: PTE -> folio and pin -> folio on each side
      assert.ok((await diagA.locator('svg.edges .edge-pin').count()) >= 1, 'pin edge drawn');
      assert.ok((await diagA.locator('svg.edges .edge-pte').count()) >= 1, 'PTE edge drawn');
      // the violating line is highlighted in the editor
      assert.equal(await page.locator('.gutter .gl-viol').count(), 1);
      assert.equal(await text(page.locator('.gutter .gl-viol')), '18');
      await page.getByTestId('step-view').screenshot({ path: join(out, 'steps.png') });
    });

    await t.test('why: a knob chip links to the steps where that knob decided something', async () => {
      const chip = page.getByTestId('knobchip-gup_unshare_anon');
      await chip.waitFor();
      const links = chip.locator('[data-testid^="knob-step-gup_unshare_anon-"]');
      const steps = (await links.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-testid')!.split('-').pop())))) as number[];
      assert.ok(steps.length >= 1, 'gup_unshare_anon was consulted somewhere');
      // the pin of line 16: 5.9 takes no unshare fault, 5.19 does (a7f226604170)
      for (const st of steps) {
        await chip.getByTestId(`knob-step-gup_unshare_anon-${st}`).click();
        await eventually('the chip moved the step view', () => text(page.getByTestId('step-pos')), (s) => s.startsWith(`step ${st} /`));
        const inA = await page.getByTestId('trace-a').getByTestId('tknob-gup_unshare_anon').count();
        const inB = await page.getByTestId('trace-b').getByTestId('tknob-gup_unshare_anon').count();
        assert.ok(inA + inB >= 1, `step ${st}: a trace line names gup_unshare_anon`);
      }
      const pinStep = steps.find((st) => st === 5);
      assert.equal(pinStep, 5, `the pin (step 5, line 16) is among the knob's steps: ${steps}`);
      await chip.getByTestId('knob-step-gup_unshare_anon-5').click();
      await eventually('at step 5', () => text(page.getByTestId('step-pos')), (s) => s.startsWith('step 5 /'));
      const b = page.getByTestId('trace-b');
      assert.match(await text(b), /faultin_page unshare fault at page 0/);
      const knobB = b.getByTestId('tknob-gup_unshare_anon').first();
      assert.equal(await text(knobB), 'gup_unshare_anon', 'on in 5.19');
      assert.match((await knobB.getAttribute('class')) ?? '', /\bdiffers\b/, 'marked as a knob that differs between the two profiles');
      assert.equal(await text(page.getByTestId('trace-a').getByTestId('tknob-gup_unshare_anon').first()), '!gup_unshare_anon', 'off in 5.9');
      // a step the chip does not list has no trace line naming the knob
      const other = [1, 2, 3, 4, 6, 7, 8].find((k) => !steps.includes(k))!;
      await page.getByTestId('step-slider').fill(String(other));
      await eventually('at the other step', () => text(page.getByTestId('step-pos')), (s) => s.startsWith(`step ${other} /`));
      assert.equal(await page.getByTestId('trace-a').getByTestId('tknob-gup_unshare_anon').count(), 0);
      assert.equal(await page.getByTestId('trace-b').getByTestId('tknob-gup_unshare_anon').count(), 0);
      // the write fault of line 17 names do_wp_page's decision and inputs
      await page.getByTestId('step-slider').fill('6');
      await eventually('at step 6', () => text(page.getByTestId('step-pos')), (s) => s.startsWith('step 6 /'));
      const wp = await text(page.getByTestId('trace-a'));
      assert.match(wp, /do_wp_page page_count 1025 != 1 -> wp_page_copy/);
      assert.match(wp, /!page_anon_exclusive !wp_reuse_swapcache wp_reuse_page_count/);
      await page.getByTestId('knobchip-gup_unshare_anon').locator('[data-testid="knob-step-gup_unshare_anon-5"]').click();
      await page.getByTestId('step-view').screenshot({ path: join(out, 'why.png') });
    });

    let broken = '';
    await t.test('a syntax error shows line:column and the CLI message inline and in the status bar', async () => {
      const input = page.getByTestId('editor-input');
      await input.click();
      await page.keyboard.press('Control+End');
      await page.keyboard.type('\nA: q = pin_user_pages(buf, 1, FOLL_WRITE');
      broken = await input.inputValue();
      const err = page.getByTestId('editor-error');
      await err.waitFor({ state: 'visible' });
      const shown = await text(err);
      // the CLI on the same text
      const dir = tempDir('pinlab-e2e-');
      const file = join(dir, 'broken.pin');
      writeFileSync(file, broken);
      const r = spawnSync(process.execPath, [cli, 'run', file], { cwd: root, encoding: 'utf8' });
      assert.equal(r.status, 2, r.stderr);
      const m = /:(\d+):(\d+): error: (.*)/.exec(r.stderr);
      assert.ok(m, r.stderr);
      const [, line, col, msg] = m;
      assert.equal(Number(line), broken.split('\n').length, 'the error is on the typed line');
      assert.ok(shown.includes(`${line}:${col}`), `inline error "${shown}" has ${line}:${col}`);
      assert.ok(shown.includes(msg!.trim()), `inline error "${shown}" has the CLI message "${msg}"`);
      const status = await text(page.getByTestId('status'));
      assert.ok(status.includes(msg!.trim()), `status bar: ${status}`);
      assert.ok(status.includes(`line ${line}, column ${col}`), `status bar: ${status}`);
      // the marked column sits on that line
      const mark = page.getByTestId('editor-error-mark');
      assert.equal(await mark.count(), 1);
      assert.equal(await text(page.locator('.gutter .gl-err')), line);
      // the matrix is kept but marked stale
      assert.match((await page.getByTestId('matrix').getAttribute('class')) ?? '', /stale/);
      await page.screenshot({ path: join(out, 'error.png') });
    });

    await t.test('fixing the error clears it; Share gives a URL that restores the text', async () => {
      const input = page.getByTestId('editor-input');
      await input.click();
      await page.keyboard.press('Control+End');
      await page.keyboard.type(')');
      await eventually('error cleared', () => page.getByTestId('editor-error').count(), (n) => n === 0);
      await eventually('matrix fresh', async () => (await page.getByTestId('matrix').getAttribute('class')) ?? '', (c) => !/stale/.test(c));
      const fixed = await input.inputValue();
      assert.equal(fixed, broken + ')');
      await page.getByTestId('share').click();
      const url = await page.getByTestId('share-url').inputValue();
      assert.match(url, /#s=[A-Za-z0-9_-]+$/);
      const page2 = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
      await page2.goto(url);
      await eventually('shared text restored', () => page2.getByTestId('editor-input').inputValue(), (v) => v === fixed);
      await eventually('shared scenario runs', () => text(page2.getByTestId('scenario-name')), (s) => s === 'ro-pin-previously-shared');
      // #c=ID opens a corpus scenario, including corpus/real ones
      await page2.goto(server.url + '#c=real/r01-pin-fork-child-alive-parent-write');
      await page2.reload();
      await eventually('#c= opens a corpus scenario', () => page2.getByTestId('editor-input').inputValue(), (v) => /^scenario real-pin-fork-child-alive-parent-write$/m.test(v));
      await page2.close();
    });

    await t.test('a race: stepping through the explorer\'s witness, transition by transition, beside another profile', async () => {
      await page.getByTestId('corpus-picker').selectOption('24-dirty-cow-race');
      await eventually('scenario name', () => text(page.getByTestId('scenario-name')), (s) => s === 'dirty-cow-race');
      const picker = page.getByTestId('schedule-picker');
      await picker.waitFor();
      await eventually('the witness is the schedule shown', async () => text(picker.locator('option:checked')), (s) => /4\.8: shortest witness of line 19 \(6 transitions\)/.test(s));
      await eventually('side b is 4.9', async () => (await page.getByTestId('side-b').getAttribute('data-profile')) ?? '', (p) => p === '4.9');
      await eventually('six transitions listed', () => page.locator('[data-testid^="story-thread-"]').count(), (n) => n === 6);
      assert.deepEqual(
        await page.locator('[data-testid^="story-thread-"]').allTextContents(),
        ['main', 't1', 't2', 't1', 't1', 'main'],
        'thread of each transition',
      );
      const sideA = page.getByTestId('side-a');
      const sideB = page.getByTestId('side-b');
      await page.getByTestId('step-next').click();
      await page.getByTestId('step-next').click();
      await eventually('transition 2', () => text(page.getByTestId('step-pos')), (s) => s === 'transition 2 / 6');
      assert.match(await text(sideA.locator('.side-head')), /after transition 2 of 6 \(par thread 1, starts\), line 11: A: proc_mem_write\(x, 0, 'X'\)/);
      const tr = await text(page.getByTestId('trace-a'));
      assert.match(tr, /faultin_page write fault at page 0/);
      assert.match(tr, /do_cow_fault private copy folio #2 of page-cache folio #1/);
      assert.match(tr, /FOLL_WRITE dropped for the retry/);
      assert.equal(await page.getByTestId('trace-a').getByTestId('tknob-gup_foll_cow').first().innerText(), '!gup_foll_cow');
      // the states are drawn on both sides: A maps the private copy #2 read-only
      await page.getByTestId('diagram-a').waitFor();
      await page.getByTestId('diagram-b').waitFor();
      assert.match(await text(page.getByTestId('diagram-a').locator('[data-testid^="pte-A-"]').first()), /→ #2/);
      await page.getByTestId('step-next').click();
      await eventually('transition 3', () => text(page.getByTestId('step-pos')), (s) => s === 'transition 3 / 6');
      assert.match(await text(sideA.locator('.side-head')), /par thread 2\), line 13: A: madvise\(x, 1, MADV_DONTNEED\)/);
      assert.match(await text(page.getByTestId('trace-a')), /free_unref_folio folio #2 freed/);
      assert.equal(await page.getByTestId('diagram-a').getByTestId('folio-2').count(), 0, 'the private copy is gone');
      await page.getByTestId('step-next').click();
      await page.getByTestId('step-next').click();
      await eventually('transition 5', () => text(page.getByTestId('step-pos')), (s) => s === 'transition 5 / 6');
      assert.match(await text(sideA.getByTestId('step-violation')), /PRIVATE_WRITE_LEAK at line 11/);
      assert.equal(await sideB.getByTestId('step-violation').count(), 0, '4.9 replays the same schedule without the leak');
      assert.match(await text(sideA.locator('.side-head')), /par thread 1, finishes/);
      assert.match(await text(page.getByTestId('diagram-a').getByTestId('folio-1')), /'X'/, 'the forced write landed in the page-cache folio');
      await page.getByTestId('step-view').screenshot({ path: join(out, 'race.png') });
      // corpus 51: 5.18 has no run of 5.9's witness (GUP-fast's window is closed): said, nothing drawn
      await page.getByTestId('corpus-picker').selectOption('51-gup-fast-fork-race');
      await eventually('scenario name', () => text(page.getByTestId('scenario-name')), (s) => s === 'gup-fast-fork-race');
      await page.getByTestId('step-profile-a').selectOption('5.9');
      await page.getByTestId('step-profile-b').selectOption('5.18');
      await eventually('5.9\'s witness', () => text(page.getByTestId('schedule-picker').locator('option:checked')), (s) => /^5\.9: shortest witness of line 25/.test(s));
      const no = page.getByTestId('side-b').getByTestId('no-replay');
      await no.waitFor();
      assert.match(await text(no), /5\.18 has no run of this schedule.*transition \d+: .*transitions/);
      assert.equal(await page.getByTestId('diagram-b').count(), 0);
      // the matrix's clause cell opens a profile's witness
      await page.getByTestId('cell-clause-25-6.18-gup_fast_write_protect_seq').click();
      await eventually('the variant\'s witness', () => text(page.getByTestId('schedule-picker').locator('option:checked')), (s) => s.startsWith('6.18-gup_fast_write_protect_seq: shortest witness of line 25'));
    });

    await t.test('a bounded exploration is INCOMPLETE in the matrix and the status bar, with the bound and the counts', async () => {
      await page.goto(shared(server.url, RACE5));
      await page.reload();
      await eventually('scenario name', () => text(page.getByTestId('scenario-name')), (s) => s === 'five-thread-race');
      const status = await eventually('status bar', () => text(page.getByTestId('status')), (s) => /INCOMPLETE/.test(s));
      assert.match(status, /INCOMPLETE: 6\.18 hit the max-states bound \(3,000\): 3,000 states, [\d,]+ transitions/);
      assert.match(status, /unexplored interleavings remain/i);
      assert.doesNotMatch(status, /every interleaving/);
      assert.match((await page.getByTestId('status').getAttribute('class')) ?? '', /incomplete/);
      const cell = page.getByTestId('cell-outcome-6.18');
      assert.equal(await text(cell.getByTestId('incomplete-6.18')), 'INCOMPLETE');
      assert.doesNotMatch(await text(cell), /\bclean\b/);
      assert.match(await text(cell.getByTestId('bound-6.18')), /max-states bound \(3,000\): 3,000 states/);
      const never = await text(page.getByTestId('cell-clause-31-6.18'));
      assert.match(never, /^FAIL/, `the never clause of an incomplete search: ${never}`);
      await page.screenshot({ path: join(out, 'incomplete.png') });
    });

    await t.test('a long exploration shows its progress; an edit replaces it, Cancel stops it (and the server\'s worker)', async () => {
      server2 = await startServer({ PINLAB_SERVE_MAX_STATES: '5000000', PINLAB_SERVE_TIME_LIMIT: '120' });
      const url2 = server2.url;
      const p3 = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
      p3.on('pageerror', (e) => pageErrors.push(String(e)));
      await p3.goto(shared(url2, RACE5));
      const progress = /exploring 6\.18 \(profile 1 of 1\): ([\d,]+) states, [\d,]+ transitions, [\d,]+ states\/s/;
      await eventually('progress in the status bar', () => text(p3.getByTestId('status')), (s) => progress.test(s), 30_000);
      await p3.getByTestId('cancel-run').waitFor();
      assert.equal((await serverStatus(url2)).running, 1);
      // an edit: the run in flight is stopped and the new text runs instead (nothing queues)
      const input = p3.getByTestId('editor-input');
      await input.click();
      await p3.keyboard.press('Control+End');
      await p3.keyboard.type('# edited\n');
      await eventually('the edited text runs', () => text(p3.getByTestId('status')), (s) => progress.test(s), 30_000);
      for (let k = 0; k < 5; k++) {
        const st = await serverStatus(url2);
        assert.ok(st.running <= 1 && st.queued === 0, `one run at a time: ${JSON.stringify(st)}`);
        await sleep(100);
      }
      await p3.getByTestId('cancel-run').click();
      const s = await eventually('cancelled', () => text(p3.getByTestId('status')), (x) => /run cancelled/.test(x));
      assert.match(s, /run cancelled while exploring 6\.18 \([\d,]+ states/);
      await eventually('the server stopped the worker', () => serverStatus(url2), (st) => st.running === 0 && st.threads === st.idle);
      await p3.getByTestId('rerun').waitFor();
      await p3.close();
    });

    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
    assert.deepEqual(external, [], 'the page fetches nothing outside the server');
  } finally {
    await browser?.close();
    server.proc.kill();
    (server2 as { proc: ChildProcess } | null)?.proc.kill();
  }
});
