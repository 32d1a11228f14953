// The page's bisect marks in a real browser (system Chromium, playwright-core):
// on the seed story ro-pin-after-fork the Δ between 5.8 and 5.9 marks
// wp_reuse_page_count and gup_force_cow_break as deciding (only together) and
// fork_early_cow_pinned as not; "what if" switches a knob on a profile and
// shows the changed outcome. Screenshot to test-output/bisect-tip.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { serve, type Server } from '../../src/serve.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const chromiumPath = process.env.PINLAB_CHROMIUM || '/usr/bin/chromium';

test('the Δ tooltip marks the deciding knobs; what if switches one', { timeout: 120_000 }, async (t) => {
  if (!existsSync(chromiumPath)) {
    t.skip(`no browser executable at ${chromiumPath} (set PINLAB_CHROMIUM)`);
    return;
  }
  assert.ok(existsSync(join(root, 'dist/web/app.js')), 'dist/web/app.js is missing: run `node scripts/build-web.mjs`');
  let srv: Server | null = null;
  let browser: Browser | null = null;
  try {
    srv = await serve(0, { workers: 2 });
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'], headless: true });
    const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    page.setDefaultTimeout(20_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(srv.url + '#c=threads/t002-read-only-pin-after-fork');
    await page.waitForFunction(() => document.querySelector('[data-testid="scenario-name"]')?.textContent === 'read-only-pin-after-fork');

    // a scenario without a race: the boundaries that change are bisected at once, ★ without a hover
    await page.getByTestId('delta-5.8-5.9').locator('.delta-star').waitFor();
    await page.getByTestId('delta-5.18-5.19').locator('.delta-star').waitFor();
    await page.getByTestId('delta-5.8-5.9').hover();
    await page.getByTestId('knobtip-bisect').waitFor();
    const tip = page.getByTestId('knob-tooltip');
    const decides = await tip.locator('[data-testid^="knob-decides-"]').evaluateAll((es) => es.map((e) => (e as HTMLElement).dataset.testid));
    assert.deepEqual(decides.sort(), ['knob-decides-gup_force_cow_break', 'knob-decides-wp_reuse_page_count']);
    await tip.getByTestId('knob-idle-fork_early_cow_pinned').waitFor();
    assert.match(await tip.getByTestId('knob-decides-wp_reuse_page_count').innerText(), /only together with gup_force_cow_break/);
    assert.match(await tip.getByTestId('knob-decides-wp_reuse_page_count').innerText(), /seen: 'w' → 'v'/);
    mkdirSync(join(root, 'test-output'), { recursive: true });
    await page.screenshot({ path: join(root, 'test-output/bisect-tip.png') });

    await page.getByTestId('delta-5.18-5.19').hover();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="knob-tooltip"] [data-testid^="knob-decides-"]').length === 2 && !!document.querySelector('[data-testid="knob-decides-gup_unshare_anon"]'));
    await tip.getByTestId('knob-decides-page_anon_exclusive').waitFor();
    await tip.getByTestId('knob-idle-fork_early_cow_anon_only').waitFor();
    await page.mouse.move(5, 5);

    // what if 5.9 lacked 09854ba94c6a: the parent keeps the pinned page, the device's write is seen
    await page.getByTestId('whatif-profile').selectOption('5.9');
    await page.getByTestId('whatif-knob').selectOption('wp_reuse_page_count');
    await page.getByTestId('whatif-go').click();
    const res = page.getByTestId('whatif-result');
    await res.getByTestId('whatif-change-value:seen').waitFor();
    assert.match(await res.getByTestId('whatif-change-value:seen').innerText(), /seen: 'v' → 'w'/);
    assert.match(await res.innerText(), /first diverges at line 17/);
    // and a knob that does not matter here
    await page.getByTestId('whatif-knob').selectOption('fork_early_cow_pinned');
    await page.getByTestId('whatif-go').click();
    await res.getByTestId('whatif-same').waitFor();
    assert.deepEqual(errors, []);
  } finally {
    await browser?.close();
    await srv?.close();
  }
});
