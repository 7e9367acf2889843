/**
 * The status page in a real browser: Debian's Chromium, driven by `playwright-core` (no browser download), loads
 * `GET /zen` from the stacks `cdktf synth` produces, emulated by `npm start`'s own modules in workerd against the fake
 * Gemini. It signs in with the operator's password, sees every key, sees a key the fake rate-limits turn to cooling
 * with a running countdown, shows a clear error for a wrong password, fits a 360 px wide phone, and neither the page
 * nor any response it triggers holds a key, the password or a token. Where no Chromium is installed, a single test says
 * so and how to install it (`.ci/run` installs it, so CI always runs these).
 *
 * `STATUS_PAGE_SCREENSHOT=docs/status-page.png npx jest __tests__/local/status-page.e2e.test.ts` also saves the
 * README's screenshot of the page at 360 px.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page, type Response as PageResponse } from 'playwright-core';
import { type FakeGemini, startFakeGemini } from '../../dev/fake-gemini';
import { demoKeyProjects, fakeProjects } from '../../scripts/local/key-projects';
import { type RunningTopology, startTopology } from '../../scripts/local/start';
import { synthesizedTopology, synthesizeToTempDir } from '../helpers/emulated-topology';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const KEY_COUNT = 20;
const PR = '8';
const API_KEYS = Array.from({ length: KEY_COUNT }, (_, i) => `canary-key-${String(i).padStart(2, '0')}-page`);
const PASS = 'canary-pass-page';
const ALICE = 'canary-token-alice-page-0123456789';
const SECRETS = { apiKeys: API_KEYS, pass: PASS, clientTokens: { alice: ALICE } };
/** `npm start`'s demo layout: keys 1-10 share the project `shared`, keys 11-20 are `solo1` to `solo10` */
const PROJECTS = demoKeyProjects(KEY_COUNT);
const GROUPS = [...new Set(PROJECTS)].map((label) => `Project ${label}`);
const SECRET_PATTERN = /canary-(key|pass|token)/;
/** how long the page may take to show a change: its refresh period (5 s) and then some */
const SEEN_WITHIN_MS = 15_000;

jest.setTimeout(120_000);

const missing = existsSync(CHROMIUM)
  ? undefined
  : `no Chromium at ${CHROMIUM}: install it with apt-get install chromium`;

if (missing !== undefined) {
  it(`is skipped: ${missing}`, () => {
    // printed too, so a run without the browser says plainly what it did not test
    console.warn(`status page browser tests skipped: ${missing}`);
    expect(existsSync(CHROMIUM)).toBe(false);
  });
} else {
  describe('the status page in Chromium', browserTests);
}

function browserTests(): void {
  let outDir: string;
  let profile: string;
  let fake: FakeGemini;
  let prod: RunningTopology;
  let browser: BrowserContext;

  beforeAll(async () => {
    outDir = await synthesizeToTempDir('zen-page-e2e-', `preview-${PR}`, {
      KEY_COUNT: String(KEY_COUNT),
      KEY_PROJECTS: PROJECTS.join(','),
    });
    fake = await startFakeGemini({ port: 0, retryDelay: '90s', projects: fakeProjects(API_KEYS, PROJECTS) });
    prod = await startTopology({
      topology: synthesizedTopology(outDir, 'prod', SECRETS, fake.url),
      port: 0,
      onLog: () => undefined,
    });
    profile = mkdtempSync(join(tmpdir(), 'zen-page-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1024, height: 800 },
    });
  });

  afterAll(async () => {
    await browser?.close();
    await prod?.dispose();
    await fake?.close();
    for (const dir of [outDir, profile]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('signs in with the password and shows every key, by its global number', async () => {
    const { page, problems } = await openPage(browser, prod.url);
    expect(await page.locator('#pool').isHidden()).toBe(true);
    expect(await page.locator('li.key').count()).toBe(0);
    await signIn(page, PASS);
    await page
      .locator('li.key')
      .nth(KEY_COUNT - 1)
      .waitFor();
    const labels = await page.locator('li.key .key-label').allTextContents();
    expect(labels).toEqual(API_KEYS.map((_, i) => `KEY${i + 1}`));
    expect(await page.locator('li.key[data-state="ok"]').count()).toBe(KEY_COUNT);
    expect(await page.locator('.groups .group-title').allTextContents()).toEqual(GROUPS.map((g) => `${g}ok`));
    expect(await page.locator('.summary').textContent()).toContain(`${KEY_COUNT} ok`);
    expect(await page.locator('.summary').textContent()).toContain('20 keys in 11 projects');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('turns a key the fake rate-limits to cooling, with a countdown that runs', async () => {
    // a project of one key, so the project cools with it
    const rationed = API_KEYS[PROJECTS.indexOf('solo5')] as string;
    const label = `KEY${API_KEYS.indexOf(rationed) + 1}`;
    const { page, problems } = await openPage(browser, prod.url);
    await signIn(page, PASS);
    await page.locator(`li.key[data-key="${label}"][data-state="ok"]`).waitFor();
    fake.setKeyBehaviour(rationed, 'quota-minute');
    await sendUntilUsed(prod.url, fake, rationed);
    const card = page.locator(`li.key[data-key="${label}"][data-state="cooling"]`);
    await card.waitFor({ timeout: SEEN_WITHIN_MS });
    expect(await card.locator('.model').textContent()).toBe('gemini-3.8-flash');
    expect(await card.locator('.counters').textContent()).toMatch(/ 1 × 429$/);
    expect(await card.locator('.last-error').textContent()).toMatch(
      /^last error 429 RESOURCE_EXHAUSTED at \d\d:\d\d:\d\d$/,
    );
    const first = seconds(await card.locator('.countdown').textContent());
    await page.waitForTimeout(2_200);
    const later = seconds(await card.locator('.countdown').textContent());
    expect(first).toBeGreaterThan(60);
    expect(later).toBeLessThan(first);
    expect(await page.locator('.group-title', { hasText: 'Project solo5' }).textContent()).toBe('Project solo5cooling');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('says the password is wrong, shows no pool, and keeps nothing', async () => {
    const { page, problems } = await openPage(browser, prod.url);
    await signIn(page, 'not-the-password');
    const error = page.locator('#error');
    await error.waitFor();
    expect(await error.textContent()).toBe('Wrong password: the gateway did not accept it.');
    expect(await page.locator('#sign-in').isVisible()).toBe(true);
    expect(await page.locator('#pool').isHidden()).toBe(true);
    expect(await inPage(page, 'sessionStorage.length')).toBe(0);
    // the one console error is the browser reporting the 401 itself
    expect(problems.filter((p) => !p.includes('401'))).toEqual([]);
    await page.close();
  });

  it('fits a 360 px wide phone: nothing is wider than the screen', async () => {
    const invalid = API_KEYS[2] as string;
    fake.setKeyBehaviour(invalid, 'invalid-key');
    await sendUntilUsed(prod.url, fake, invalid);
    const { page } = await openPage(browser, prod.url, { width: 360, height: 780 });
    await signIn(page, PASS);
    await page.locator('li.key[data-state="removed"]').waitFor({ timeout: SEEN_WITHIN_MS });
    expect(await page.locator('li.key[data-state="removed"] .detail').textContent()).toBe('removed: API_KEY_INVALID');
    expect(await inPage(page, 'document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
    expect(await overflowing(page)).toEqual([]);
    const screenshot = process.env.STATUS_PAGE_SCREENSHOT;
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    await page.close();
  });

  it('holds no key, password or token in the page or any response it triggers; the password stays in the tab', async () => {
    const { page, responses } = await openPage(browser, prod.url);
    await signIn(page, PASS);
    await page
      .locator('li.key')
      .nth(KEY_COUNT - 1)
      .waitFor();
    await Promise.all([page.waitForResponse((r) => r.url().endsWith('/zen/status')), page.locator('#refresh').click()]);
    const bodies = await Promise.all(responses.map(async (r) => ({ url: r.url(), body: await r.text() })));
    expect(bodies.map((b) => new URL(b.url).pathname)).toEqual(expect.arrayContaining(['/zen', '/zen/status']));
    expect(bodies.every((b) => new URL(b.url).origin === prod.url)).toBe(true);
    for (const { url, body } of bodies) {
      expect(url).not.toMatch(SECRET_PATTERN);
      expect(body).not.toMatch(SECRET_PATTERN);
    }
    expect(await page.content()).not.toMatch(SECRET_PATTERN);
    const stored = await inPage(
      page,
      '({ cookie: document.cookie, local: localStorage.length, session: Object.keys(sessionStorage) })',
    );
    expect(stored).toEqual({ cookie: '', local: 0, session: ['zen-status-password'] });
    expect((await browser.cookies()).length).toBe(0);
    await page.locator('#sign-out').click();
    expect(await inPage(page, 'sessionStorage.length')).toBe(0);
    expect(await page.locator('li.key').count()).toBe(0);
    await page.close();
  });

  it("shows the day's usage where the status carries it, on a phone too", async () => {
    const { page, problems } = await openPage(browser, prod.url, { width: 360, height: 780 });
    await page.route('**/zen/status', (route) => route.fulfill({ json: statusWithUsage() }));
    await signIn(page, PASS);
    const usage = page.locator('section.usage');
    await usage.waitFor();
    expect(await usage.locator('h2').textContent()).toBe('Usage todaysince 07:00:00 UTC');
    expect(await usage.locator('table').count()).toBe(3);
    expect(await usage.locator('tbody th').allTextContents()).toEqual(['all', 'KEY1', 'KEY2', 'alice', 'pass']);
    expect(await page.locator('li.key[data-key="KEY1"] .usage-line').textContent()).toBe('12.3k tokens today');
    expect(await overflowing(page)).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("tells a client token that the status is the operator's, however the gateway says it", async () => {
    const refusal = { error: { message: 'The key status is for the operator.', type: 'permission_error' } };
    const allRefused = {
      time: '2026-05-01T12:00:00.000Z',
      shards: [0, 1].map((shard) => ({ shard, error: 'status 403' })),
    };
    for (const answer of [
      { status: 403, json: refusal },
      { status: 200, json: allRefused },
    ]) {
      const { page } = await openPage(browser, prod.url);
      await page.route('**/zen/status', (route) => route.fulfill(answer));
      await signIn(page, ALICE);
      await page.locator('#error').waitFor();
      expect(await page.locator('#error').textContent()).toBe(
        "This credential may not read the status: sign in with the operator's password (PASS).",
      );
      expect(await page.locator('#pool').isHidden()).toBe(true);
      expect(await inPage(page, 'sessionStorage.length')).toBe(0);
      await page.close();
    }
  });

  it('reads a lone worker (the preview worker) the same way', async () => {
    const topology = synthesizedTopology(outDir, `preview-${PR}`, SECRETS, fake.url);
    const preview = await startTopology({ topology, port: 0, onLog: () => undefined });
    try {
      const { page, problems } = await openPage(browser, preview.url);
      await signIn(page, PASS);
      await page
        .locator('li.key')
        .nth(KEY_COUNT - 1)
        .waitFor();
      expect(await page.locator('li.key .key-label').allTextContents()).toEqual(API_KEYS.map((_, i) => `KEY${i + 1}`));
      expect(await page.locator('.groups .group-title').allTextContents()).toEqual(GROUPS.map((g) => `${g}ok`));
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await preview.dispose();
    }
  });
}

/** A lone worker's status with a `usage` section as metering writes it (`core/usage-summary.ts`). */
function statusWithUsage(): unknown {
  const tokens = (total: number) => ({ prompt: total - 100, output: 100, cached: 0, thinking: 0, total });
  const counts = (requests: number, total: number) => ({ requests, errors: 0, tokens: tokens(total) });
  return {
    time: '2026-05-01T12:00:00.000Z',
    scope: 'isolate',
    requests: 5,
    since: null,
    summary: { ok: 2, cooling: 0, removed: 0 },
    keys: [1, 2].map((key) => ({ key, state: 'ok', requests: 3, rateLimited: 0 })),
    usage: {
      scope: 'dataset',
      since: '2026-05-01T07:00:00.000Z',
      ...counts(5, 20_000),
      keys: [
        { key: 'KEY1', keyIndex: 1, project: 'key1', ...counts(3, 12_345) },
        { key: 'KEY2', keyIndex: 2, project: 'key2', ...counts(2, 7_655) },
      ],
      clients: [
        { client: 'alice', ...counts(4, 19_000) },
        { client: 'pass', ...counts(1, 1_000) },
      ],
      dropped: 0,
      writeFailures: 0,
    },
  };
}

/** A new tab on the page, with the console errors and the responses it sees. */
async function openPage(
  browser: BrowserContext,
  origin: string,
  viewport?: { width: number; height: number },
): Promise<{ page: Page; problems: string[]; responses: PageResponse[] }> {
  const page = await browser.newPage();
  if (viewport) await page.setViewportSize(viewport);
  const problems: string[] = [];
  const responses: PageResponse[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('response', (response) => responses.push(response));
  const res = await page.goto(`${origin}/zen`);
  expect(res?.status()).toBe(200);
  return { page, problems, responses };
}

/** Every element wider than the screen reaches (a table scrolls inside its own box, which must fit). */
function overflowing(page: Page): Promise<unknown> {
  return inPage(
    page,
    `[...document.querySelectorAll('body *')]
      .filter((e) => !e.parentElement.closest('.table-wrap'))
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
      .map((e) => e.tagName + '.' + e.className)`,
  );
}

/** The value of a JavaScript expression in the page (a string: these tests are type-checked without the DOM's types). */
function inPage(page: Page, expression: string): Promise<unknown> {
  return page.evaluate(expression);
}

async function signIn(page: Page, password: string): Promise<void> {
  await page.locator('#password').fill(password);
  await page.locator('#sign-in button[type="submit"]').click();
}

/**
 * Chat requests through the gateway until the fake sees `key` used once more. A key of the demo's shared project
 * takes about 1 request in 110 (its project's share of 11, over its 10 keys), so 400 missed it in about 3 runs in
 * 100; 3,000 miss it once in 10^11, and a run stops at the first use either way.
 */
async function sendUntilUsed(origin: string, fake: FakeGemini, key: string): Promise<void> {
  const usedCount = (): number => fake.calls.filter((call) => call.apiKey === key).length;
  const before = usedCount();
  for (let sent = 0; sent < 3_000; sent++) {
    const res = await fetch(`${origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PASS}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'Hi' }] }),
    });
    await res.arrayBuffer();
    if (usedCount() > before) return;
  }
  throw new Error('the gateway never used the key');
}

/** `17 s`, `1 min 30 s` → seconds. */
function seconds(text: string | null): number {
  const match = /^(?:(\d+) min )?(\d+) s$/.exec(text ?? '');
  if (match === null) throw new Error(`not a countdown: ${text}`);
  return Number(match[1] ?? 0) * 60 + Number(match[2]);
}
