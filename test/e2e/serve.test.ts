// `pinlab serve` end to end in a real browser: the system Chromium driven by
// playwright-core (no browser download). Loads the page, opens corpus
// 84-ro-pin-previously-shared, reads the outcome matrix and the knob tooltip, steps
// 5.9 beside 5.19 to the DMA_LOST step, types a syntax error and compares the
// inline message with the CLI's. Screenshots go to test-output/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'dist/src/cli.js');
const out = join(root, 'test-output');
const chromiumPath = process.env.PINLAB_CHROMIUM || '/usr/bin/chromium';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start `pinlab serve --port 0` and resolve with the URL it prints. */
function startServer(): Promise<{ proc: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [cli, 'serve', '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
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

test('pinlab serve in Chromium: matrix, knob tooltip, step view, inline errors, share link', { timeout: 180_000 }, async (t) => {
  if (!existsSync(chromiumPath)) {
    t.skip(`no browser executable at ${chromiumPath} (set PINLAB_CHROMIUM)`);
    return;
  }
  assert.ok(existsSync(join(root, 'dist/web/app.js')), 'dist/web/app.js is missing: run `node scripts/build-web.mjs`');
  mkdirSync(out, { recursive: true });

  const server = await startServer();
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
      const dir = mkdtempSync(join(tmpdir(), 'pinlab-e2e-'));
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

    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
    assert.deepEqual(external, [], 'the page fetches nothing outside the server');
  } finally {
    await browser?.close();
    server.proc.kill();
  }
});
