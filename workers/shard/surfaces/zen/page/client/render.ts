/**
 * The status page's DOM: the pool view (`./pool-view.ts`) as a summary line, a grid of key cards per project or
 * shard, the shards that gave no view, and the usage tables. Every text goes in through `textContent`, never as
 * markup, so nothing a status answer holds (Google's codes, project labels) can become part of the page; the CSP's
 * Trusted Types rule refuses any markup sink besides.
 *
 * @module
 */
import { clockTime, compact, countdown, counted, heading } from './format';
import type { GroupView, KeyView, PoolView } from './pool-view';
import type { UsageTable, UsageView } from './usage-view';

type Child = Node | string | undefined;

/** An element with a class and children (strings become text nodes; undefined ones are left out). */
export function el(tag: string, className: string, ...children: Child[]): HTMLElement {
  const element = document.createElement(tag);
  if (className !== '') element.className = className;
  for (const child of children) {
    if (child !== undefined) element.append(child);
  }
  return element;
}

function stateBadge(state: string): HTMLElement {
  return el('span', `state ${state}`, state);
}

/** A countdown the page's clock tick rewrites each second, to `until` on the gateway's clock. */
function countdownOf(until: number, now: number): HTMLElement {
  const span = el('span', 'countdown', countdown(until, now));
  span.dataset.until = String(until);
  return span;
}

/** What a key is doing: the models it cools for and until when, or why it was removed. */
function keyDetail(key: KeyView, now: number): HTMLElement | undefined {
  if (key.state === 'removed') return el('p', 'detail', `removed: ${key.reason ?? 'refused by Google'}`);
  if (key.cooling.length === 0) return undefined;
  const lines = key.cooling.map((c) =>
    el('li', '', el('span', 'model', c.model === '*' ? 'any model' : c.model), ' ', countdownOf(c.until, now)),
  );
  return el('ul', 'detail cooling-list', ...lines);
}

function lastErrorLine(key: KeyView): HTMLElement | undefined {
  const error = key.lastError;
  if (error === undefined) return undefined;
  const what = [error.status, error.code].filter((part) => part !== undefined).join(' ');
  const when = error.at !== undefined ? ` at ${clockTime(error.at)}` : '';
  return el('p', 'last-error', `last error ${what || 'unknown'}${when}`);
}

function usageLine(key: KeyView): HTMLElement | undefined {
  return key.tokens === undefined ? undefined : el('p', 'usage-line', `${compact(key.tokens)} tokens today`);
}

function keyCard(key: KeyView, now: number): HTMLElement {
  const card = el(
    'li',
    `key ${key.state}`,
    el('div', 'key-head', el('strong', 'key-label', key.label), stateBadge(key.state)),
    keyDetail(key, now),
    el('p', 'counters', `${counted(key.requests, 'call')} · ${key.rateLimited} × 429`),
    lastErrorLine(key),
    usageLine(key),
  );
  card.dataset.key = key.label;
  card.dataset.state = key.state;
  return card;
}

/** A heading and its keys' grid; a group of one key is narrow, so that several such share a row. */
function groupSection(group: GroupView, now: number): HTMLElement {
  const title = el('h2', 'group-title', group.title, group.state !== undefined ? stateBadge(group.state) : undefined);
  const width = group.keys.length > 1 ? 'group wide' : 'group';
  return el('section', width, title, el('ol', 'grid', ...group.keys.map((k) => keyCard(k, now))));
}

function summaryLine(view: PoolView): HTMLElement {
  const { ok, cooling, removed } = view.summary;
  return el(
    'p',
    'summary',
    el('span', 'pill ok', `${ok} ok`),
    el('span', 'pill cooling', `${cooling} cooling`),
    el('span', 'pill removed', `${removed} removed`),
    el('span', 'muted', counted(view.requests, 'request')),
    view.capacity !== undefined ? el('span', 'muted', view.capacity) : undefined,
  );
}

function usageSection(usage: UsageView): HTMLElement | undefined {
  const { tables, since } = usage;
  if (tables.length === 0) return undefined;
  const tableOf = (t: UsageTable): HTMLElement => {
    const head = el('tr', '', el('th', '', heading(t.title)), ...t.columns.map((c) => el('th', '', heading(c))));
    const rows = t.rows.map((r) =>
      el('tr', '', el('th', '', r.name), ...t.columns.map((c) => el('td', '', compact(r.figures[c] ?? 0)))),
    );
    return el('div', 'table-wrap', el('table', '', el('thead', '', head), el('tbody', '', ...rows)));
  };
  const title = el(
    'h2',
    'group-title',
    'Usage today',
    since !== undefined ? el('span', 'muted', `since ${clockTime(since)} UTC`) : undefined,
  );
  return el('section', 'usage', title, ...tables.map(tableOf));
}

/** Replaces `container`'s content with the pool; `now` is the gateway's clock, for the countdowns. */
export function renderPool(container: HTMLElement, view: PoolView, now: number): void {
  const problems =
    view.problems.length === 0 ? undefined : el('ul', 'problems', ...view.problems.map((p) => el('li', '', p)));
  container.replaceChildren(
    ...[
      summaryLine(view),
      problems,
      el('div', 'groups', ...view.groups.map((g) => groupSection(g, now))),
      usageSection(view.usage),
      el('p', 'muted note', "Each worker's view is the isolate's that answered; another isolate may differ."),
    ].filter((n): n is HTMLElement => n !== undefined),
  );
}

/** Rewrites every countdown under `root` for the gateway's clock `now`. */
export function tickCountdowns(root: HTMLElement, now: number): void {
  for (const span of root.querySelectorAll<HTMLElement>('.countdown')) {
    const until = Number(span.dataset.until);
    if (Number.isFinite(until)) span.textContent = countdown(until, now);
  }
}
