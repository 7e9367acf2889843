/**
 * The status page's script: asks for the operator's password, keeps it for this tab only (`sessionStorage`: gone when
 * the tab closes, never a cookie, which the browser would send by itself, nor `localStorage`, which outlives the
 * tab), sends it as `Authorization: Bearer` to `GET /zen/status` on the page's own origin, and redraws the pool every
 * few seconds. It refreshes only while the tab is visible, and pauses after a long spell without a touch: each
 * refresh is a status request, which on the orchestrator costs one invocation of every shard too.
 *
 * @module
 */
import { clockTime } from './format';
import { poolView, unanimousRefusal } from './pool-view';
import { renderPool, tickCountdowns } from './render';

const STATUS_URL = '/zen/status';
const STORAGE_KEY = 'zen-status-password';
const REFRESH_MS = 5_000;
const IDLE_PAUSE_MS = 30 * 60_000;
const FETCH_TIMEOUT_MS = 15_000;

function byId<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found as T;
}

const ui = {
  form: byId<HTMLFormElement>('sign-in'),
  password: byId<HTMLInputElement>('password'),
  error: byId<HTMLParagraphElement>('error'),
  pool: byId<HTMLElement>('pool'),
  updated: byId<HTMLElement>('updated'),
  signOut: byId<HTMLButtonElement>('sign-out'),
  refresh: byId<HTMLButtonElement>('refresh'),
};

const state = {
  /** the gateway's clock minus this device's, from the last answer */
  offset: 0,
  timer: undefined as number | undefined,
  lastTouch: Date.now(),
  loading: false,
};

function showError(message: string | undefined): void {
  ui.error.textContent = message ?? '';
  ui.error.hidden = message === undefined;
}

function setSignedIn(signedIn: boolean): void {
  ui.form.hidden = signedIn;
  ui.pool.hidden = !signedIn;
  ui.signOut.hidden = !signedIn;
  ui.refresh.hidden = !signedIn;
  if (!signedIn) {
    ui.pool.replaceChildren();
    ui.updated.textContent = '';
  }
}

function signOut(message?: string): void {
  sessionStorage.removeItem(STORAGE_KEY);
  window.clearTimeout(state.timer);
  setSignedIn(false);
  showError(message);
  ui.password.focus();
}

/** What a refused status request means, for the person holding the phone. */
function refusalMessage(status: number, body: unknown): string {
  if (status === 401) return 'Wrong password: the gateway did not accept it.';
  if (status === 403) return "This credential may not read the status: sign in with the operator's password (PASS).";
  const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
  return `The gateway answered ${status}${typeof message === 'string' ? `: ${message}` : '.'}`;
}

/** The status answer; a merged view in which every shard refused the credential counts as that refusal. */
async function fetchStatus(password: string): Promise<{ status: number; body: unknown }> {
  // a request that hangs must not stop the refreshes for good (the orchestrator gives each shard 3 s)
  const abort = new AbortController();
  const timer = window.setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
  try {
    const response = await fetch(STATUS_URL, {
      headers: { authorization: `Bearer ${password}` },
      cache: 'no-store',
      credentials: 'omit',
      signal: abort.signal,
    });
    const body: unknown = await response.json().catch(() => undefined);
    return { status: (response.status === 200 && unanimousRefusal(body)) || response.status, body };
  } finally {
    window.clearTimeout(timer);
  }
}

function scheduleNext(): void {
  window.clearTimeout(state.timer);
  state.timer = window.setTimeout(() => void refresh(), REFRESH_MS);
}

function showPool(body: unknown): boolean {
  const view = poolView(body, Date.now());
  if (view === undefined) return false;
  state.offset = view.time - Date.now();
  renderPool(ui.pool, view, view.time);
  ui.updated.textContent = `updated ${clockTime(view.time)} UTC`;
  return true;
}

/** Asks for the status with `password`; `signingIn` when the form sent it (a refusal then keeps the form up). */
async function load(password: string, signingIn: boolean): Promise<void> {
  state.loading = true;
  try {
    const { status, body } = await fetchStatus(password);
    // signed out (or in again) while this answer was on its way: it is no longer wanted
    if (!signingIn && sessionStorage.getItem(STORAGE_KEY) !== password) return;
    if (status === 401 || status === 403) return signOut(refusalMessage(status, body));
    if (status !== 200 || !showPool(body)) {
      showError(
        status === 200 ? 'The gateway answered something that is not a status view.' : refusalMessage(status, body),
      );
      if (signingIn) return;
    } else {
      showError(undefined);
      if (signingIn) sessionStorage.setItem(STORAGE_KEY, password);
      setSignedIn(true);
    }
  } catch {
    // the exception's text could quote the request; a fixed message says enough
    showError('Could not reach the gateway: check the connection and try again.');
    if (signingIn) return;
  } finally {
    state.loading = false;
  }
  scheduleNext();
}

/** The next refresh, unless the tab is hidden or nobody touched it for a long time (then a tap resumes). */
async function refresh(): Promise<void> {
  const password = sessionStorage.getItem(STORAGE_KEY);
  if (password === null || state.loading) return;
  if (document.hidden) return;
  if (Date.now() - state.lastTouch > IDLE_PAUSE_MS) {
    ui.updated.textContent = `${ui.updated.textContent ?? ''} · paused: tap Refresh`;
    return;
  }
  await load(password, false);
}

function wire(): void {
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    const password = ui.password.value;
    ui.password.value = '';
    if (password !== '') void load(password, true);
  });
  ui.signOut.addEventListener('click', () => signOut());
  ui.refresh.addEventListener('click', () => void refresh());
  for (const kind of ['pointerdown', 'keydown'] as const) {
    document.addEventListener(kind, () => {
      state.lastTouch = Date.now();
    });
  }
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    state.lastTouch = Date.now();
    void refresh();
  });
  window.setInterval(() => tickCountdowns(ui.pool, Date.now() + state.offset), 1_000);
}

wire();
if (sessionStorage.getItem(STORAGE_KEY) !== null) void refresh();
else ui.password.focus();
