/* global document */
// `node scripts/screenshots.mjs`: the README's screenshots (docs/*.png), taken in Debian's Chromium from
// `kliq-audit serve` on an audit of ../shared/photos: the Queue's grid, and Review with its box list.
// Needs `npm run build` first. Writes docs/queue-grid.png and docs/review.png.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin', 'kliq-audit.mjs');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kliq-shots-'));
const db = path.join(dir, 'shots.db');
execFileSync(process.execPath, [CLI, 'audit', path.join(ROOT, '..', 'shared', 'photos'), '--db', db, '--location', 'Store 12', '--json'], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
const serve = spawn(process.execPath, [CLI, 'serve', '--db', db, '--port', '0', '--user', 'rep_jane'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise((resolve) => readline.createInterface({ input: serve.stdout }).once('line', resolve));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless=new', '--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(url);
  await page.waitForSelector('[data-testid=queue-row]');
  await page.keyboard.press('v');
  await page.waitForSelector('[data-testid=queue-grid]');
  await page.waitForFunction(() =>
    [...document.querySelectorAll('[data-testid=grid-cell] img')].every((i) => i.complete && i.naturalWidth),
  );
  await page.screenshot({ path: path.join(ROOT, 'docs', 'queue-grid.png') });
  // dog.jpg: several boxes in the list
  const dog = await page.$eval('[data-testid=grid-cell]:has-text("dog.jpg")', (c) => Number(c.dataset.index));
  for (let i = 0; i < dog; i++) await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid=review-screen]')?.getAttribute('data-ready') === 'true');
  await page.waitForFunction(() => document.querySelector('[data-testid=review-image]')?.naturalWidth > 0);
  await page.waitForTimeout(500);
  const row = await page.$('[data-testid=box-row]');
  await row?.hover();
  await page.waitForTimeout(200);
  await page.screenshot({ path: path.join(ROOT, 'docs', 'review.png') });
} finally {
  await browser.close();
  serve.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
}
