// Browser tests of kyojo's web interface in headless Debian Chromium.
//
// Starts the real binary (`kyojo serve --demo`) on a free port with a fresh
// data directory, then, as real users in a real browser: signs in, shares a
// report from pasted text with defanged indicators, finds it from another
// member's session, checks that an AMBER report stays invisible to a member
// outside its audience, switches language, blocks an indicator, walks the
// pages by keyboard, and as an administrator creates and revokes a token.
// Saves screenshots of the dashboard, an indicator page and the share page
// in Japanese and English.

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const BIN = process.env.KYOJO_BIN || new URL('../../../../target/debug/kyojo', import.meta.url).pathname;
const SHOTS = process.env.KYOJO_SCREENSHOTS || new URL('../../../../docs/screenshots', import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

let failures = 0;
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failures += 1;
    console.log(`FAIL ${name}\n     ${(e && e.stack) || e}`);
  }
}

function startHub(dataDir) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['serve', '--demo', '--data', dataDir, '--listen', '127.0.0.1:0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const tokens = {};
    const timer = setTimeout(() => reject(new Error(`hub did not start:\n${out}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      for (const line of out.split('\n')) {
        const m = line.match(/^(admin|analyst|other analyst|sensor|consumer) token:\s+(\S+)/);
        if (m) tokens[m[1]] = m[2];
        const r = line.match(/ready at (http:\/\/[^/]+)\//);
        if (r) tokens.base = r[1];
      }
      if (tokens.base && tokens.consumer) {
        clearTimeout(timer);
        resolve({ child, tokens });
      }
    });
    child.stderr.on('data', (d) => { out += d; });
    child.on('exit', (code) => reject(new Error(`hub exited with ${code}:\n${out}`)));
  });
}

async function api(base, token, method, path, body) {
  const r = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function signIn(page, base, token) {
  await page.goto(`${base}/ui/login`);
  await page.getByLabel(/Access token|アクセストークン/).fill(token);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${base}/ui/`);
}

const html = (page) => page.content();
const htmlLang = (page) => page.evaluate(() => document.documentElement.lang);

const dataDir = mkdtempSync(join(tmpdir(), 'kyojo-browser-'));
const { child, tokens } = await startHub(dataDir);
const base = tokens.base;
console.log(`hub at ${base}`);
mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
  ],
});
const viewport = { width: 1280, height: 900 };

try {
  const me = await api(base, tokens.analyst, 'GET', '/me');
  const other = await api(base, tokens['other analyst'], 'GET', '/me');
  assert.notEqual(me.sector, other.sector, 'the demo analysts are in different sectors');
  const stamp = Date.now().toString(36);
  const greenTitle = `Browser test phishing ${stamp}`;
  const amberTitle = `Browser test amber ${stamp}`;
  const greenHost = `login.bt-${stamp}.example`;
  const amberHost = `amber-bt-${stamp}.example`;
  let greenUrl = '';
  let greenReport = '';

  // One analyst, in Japanese (the browser asks for ja).
  const ja = await browser.newContext({ locale: 'ja-JP', viewport });
  const pj = await ja.newPage();

  await step('sign in with a token (ja); a bad token is refused', async () => {
    await pj.goto(`${base}/ui/login`);
    assert.equal(await htmlLang(pj), 'ja');
    await pj.getByLabel('アクセストークン').fill('kyj_wrong_token');
    await pj.getByRole('button', { name: 'サインイン' }).click();
    assert.match(await html(pj), /無効/);
    await signIn(pj, base, tokens.analyst);
    assert.equal(await htmlLang(pj), 'ja');
    assert.match(await html(pj), /状況/);
    await pj.screenshot({ path: join(SHOTS, 'dashboard-ja.png'), fullPage: true });
  });

  await step('share a report from pasted text with defanged indicators', async () => {
    await pj.goto(`${base}/ui/share`);
    await pj.getByLabel('アラート・メール・ログの本文').fill(
      `注意喚起: SMS で hxxps://${greenHost.replaceAll('.', '[.]')}/verify.php に誘導。\n` +
      `送信元 alerts[@]bank-notice[.]test`);
    await pj.getByLabel(/^件名/).fill(greenTitle);
    await pj.getByRole('button', { name: '指標を抽出' }).click();
    const preview = await html(pj);
    greenUrl = `https://${greenHost}/verify.php`;
    assert.ok(preview.includes(greenUrl), 'canonical URL shown before storing');
    assert.ok(preview.includes('alerts@bank-notice.test'), 'canonical e-mail shown');
    await pj.screenshot({ path: join(SHOTS, 'share-ja.png'), fullPage: true });
    await pj.getByRole('radio', { name: /TLP:GREEN/ }).check();
    await pj.getByRole('radio', { name: 'コミュニティ全体' }).check();
    await pj.getByRole('button', { name: 'レポートを共有' }).click();
    await pj.waitForURL(/\/ui\/reports\/[0-9a-f-]+\?shared=1/);
    greenReport = pj.url();
    assert.match(await html(pj), /レポートを共有しました/);
    assert.ok((await html(pj)).includes(greenTitle));
  });

  await step('share an AMBER report for my sector only', async () => {
    await pj.goto(`${base}/ui/share`);
    await pj.getByLabel('アラート・メール・ログの本文').fill(`C2: ${amberHost.replaceAll('.', '(.)')}`);
    await pj.getByRole('button', { name: '指標を抽出' }).click();
    assert.ok((await html(pj)).includes(amberHost));
    await pj.getByLabel('件名', { exact: true }).fill(amberTitle);
    await pj.getByRole('radio', { name: /TLP:AMBER 下で/ }).check();
    await pj.getByRole('radio', { name: /自分の分野/ }).check();
    await pj.getByRole('button', { name: 'レポートを共有' }).click();
    await pj.waitForURL(/\?shared=1/);
    assert.ok((await html(pj)).includes(amberTitle));
  });

  let indicatorPath = '';
  await step('block an indicator from its page', async () => {
    await pj.goto(greenReport);
    await pj.getByRole('link', { name: greenUrl }).click();
    await pj.waitForURL(/\/ui\/indicators\/url\//);
    indicatorPath = new URL(pj.url()).pathname;
    await pj.getByRole('radio', { name: 'ブロック' }).check();
    await pj.getByLabel('コメント').fill('ブラウザーテスト');
    await pj.getByRole('button', { name: '判断を記録' }).click();
    await pj.getByText('はい：ブロック用フィードに掲載').waitFor();
    assert.match(await html(pj), /自組織がブロック：ブラウザーテスト/);
    await pj.screenshot({ path: join(SHOTS, 'indicator-ja.png'), fullPage: true });
    const feed = await fetch(`${base}/api/v1/feeds/urls.txt`, {
      headers: { Authorization: `Bearer ${tokens.analyst}` },
    }).then((r) => r.text());
    assert.ok(feed.includes(greenHost), 'the block reaches the feed');
  });

  await step('switch language in the header; the choice is remembered', async () => {
    await pj.goto(`${base}/ui/reports`);
    await pj.getByRole('link', { name: 'English' }).click();
    assert.equal(await htmlLang(pj), 'en');
    await pj.goto(`${base}/ui/`);
    assert.equal(await htmlLang(pj), 'en', 'remembered although the browser asks for ja');
    await pj.getByRole('link', { name: '日本語' }).click();
    assert.equal(await htmlLang(pj), 'ja');
  });

  await step('keyboard: skip link first, then the navigation', async () => {
    await pj.goto(`${base}/ui/`);
    await pj.keyboard.press('Tab');
    assert.equal(await pj.evaluate(() => document.activeElement.className), 'skip');
    await pj.keyboard.press('Enter');
    // The fragment navigation lands asynchronously: wait for it, never read early.
    await pj.waitForURL(/#main$/);
    await pj.keyboard.press('Tab');
    await pj.keyboard.press('Tab');
    const focused = await pj.evaluate(() => document.activeElement.tagName);
    assert.ok(['A', 'BUTTON', 'SUMMARY', 'INPUT'].includes(focused), focused);
  });

  // The other analyst, in English, in another sector.
  const en = await browser.newContext({ locale: 'en-US', viewport });
  const pe = await en.newPage();

  await step('another member finds the GREEN report and its indicator', async () => {
    await signIn(pe, base, tokens['other analyst']);
    assert.equal(await htmlLang(pe), 'en');
    await pe.goto(`${base}/ui/reports`);
    await pe.getByRole('link', { name: greenTitle }).click();
    assert.ok((await html(pe)).includes(greenUrl));
    await pe.goto(`${base}/ui/search`);
    await pe.getByLabel('Search for any value').fill(`hxxps://${greenHost.replaceAll('.', '[.]')}/verify.php?x=1`);
    await pe.getByRole('button', { name: 'Search', exact: true }).click();
    await pe.getByRole('link', { name: greenUrl }).first().click();
    assert.ok((await html(pe)).includes(greenTitle));
  });

  await step('the AMBER report is invisible to a member outside its audience', async () => {
    for (const path of ['/ui/', '/ui/reports', `/ui/search?q=${amberHost}`]) {
      await pe.goto(`${base}${path}`);
      const page = await html(pe);
      assert.ok(!page.includes(amberTitle), `${path} shows the AMBER title`);
      assert.ok(!page.includes(`/ui/indicators/domain/${amberHost}`), `${path} links the AMBER indicator`);
    }
    const r = await pe.goto(`${base}/ui/indicators/domain/${amberHost}`);
    assert.equal(r.status(), 404);
  });

  await step('English screenshots, no Japanese outside the switch', async () => {
    const a = await browser.newContext({ locale: 'en-GB', viewport });
    const p = await a.newPage();
    await signIn(p, base, tokens.analyst);
    // The switch names the other language; report titles are what members wrote.
    const strip = (s) => s
      .replace(/<a class="lang-switch"[^>]*>[^<]*<\/a>/, '')
      .replace(/<a href="\/ui\/reports\/[^"]*">[^<]*<\/a>/g, '');
    const jaChars = /[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]/;
    await p.screenshot({ path: join(SHOTS, 'dashboard-en.png'), fullPage: true });
    assert.ok(!jaChars.test(strip(await html(p))), 'dashboard');
    await p.locator('section[aria-labelledby="h-top"] a').first().click();
    await p.waitForURL(/\/ui\/indicators\//);
    assert.ok(!jaChars.test(strip(await html(p))), 'indicator page');
    await p.screenshot({ path: join(SHOTS, 'indicator-en.png'), fullPage: true });
    await p.goto(`${base}/ui/share`);
    await p.getByLabel('Alert, e-mail or log text').fill(
      'Lure from alerts[@]bank-notice[.]test linking hxxps://login.evil[.]example/verify.php; C2 203[.]0[.]113[.]9');
    await p.getByLabel(/^Title/).fill('SMS phishing against bank customers');
    await p.getByRole('button', { name: 'Extract indicators' }).click();
    assert.ok(!jaChars.test(strip(await html(p))), 'share preview');
    await p.screenshot({ path: join(SHOTS, 'share-en.png'), fullPage: true });
    await a.close();
  });

  await step('admin: create a token (shown once) and revoke it through the pages', async () => {
    const a = await browser.newContext({ locale: 'en-GB', viewport });
    const p = await a.newPage();
    await signIn(p, base, tokens.admin);
    await p.getByRole('link', { name: 'Admin' }).click();
    await p.waitForURL(`${base}/ui/admin/orgs`);
    await p.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: 'Tokens' }).click();
    await p.getByLabel('Organization').selectOption(me.organization);
    await p.getByLabel('Role').selectOption('consumer');
    await p.getByLabel('Label (optional)').fill(`browser test ${stamp}`);
    await p.getByRole('button', { name: 'Create token' }).click();
    await p.getByText('cannot be shown again').waitFor();
    const token = await p.getByLabel('Token', { exact: true }).inputValue();
    assert.match(token, /^kyj_[0-9a-f]{16}_[0-9a-f]{64}$/);
    const id = token.split('_')[1];
    const who = await api(base, token, 'GET', '/me');
    assert.equal(who.organization, me.organization);
    assert.equal(who.role, 'consumer');
    await p.goto(`${base}/ui/admin/tokens`);
    assert.ok(!(await html(p)).includes(token), 'the token is not shown again');
    await p.getByRole('button', { name: `Revoke ${id}` }).click();
    await p.getByText(`Revoked the token ${id}.`).waitFor();
    const r = await fetch(`${base}/api/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(r.status, 401);
    await p.getByRole('link', { name: 'Audit log' }).click();
    const log = await html(p);
    assert.ok(log.indexOf(`<td class="mono">${id}</td>`) >= 0, 'token.revoke in the audit log');
    assert.ok(log.includes(`consumer token ${id} for `), 'token.create in the audit log');
    assert.ok(log.indexOf('token.revoke') < log.indexOf('token.create'), 'newest first');
    await a.close();
    // Analysts see no Admin link and are refused.
    await pj.goto(`${base}/ui/`);
    assert.equal(await pj.getByRole('link', { name: '管理' }).count(), 0);
    const denied = await pj.goto(`${base}/ui/admin/tokens`);
    assert.equal(denied.status(), 403);
  });

  await step('signing out ends the session', async () => {
    await pe.goto(`${base}/ui/`);
    await pe.getByRole('button', { name: 'Sign out' }).click();
    await pe.waitForURL(`${base}/ui/login`);
    await pe.goto(`${base}/ui/`);
    assert.ok(pe.url().endsWith('/ui/login'));
  });
} finally {
  await browser.close();
  child.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}

if (failures) {
  console.log(`${failures} browser test(s) failed`);
  process.exit(1);
}
console.log('all browser tests passed');
