/**
 * `zen-status-page` for the workers' modules when they run in Node, not bundled: under Jest (`jest.config.js`'s
 * `moduleNameMapper`) and under tsx (`tsconfig.json`'s `paths`, e.g. the capacity benchmark's `--clock virtual`). The
 * page is assembled from its sources as the bundler assembles it for the workers (`./status-page.ts`), so those runs
 * serve the page the workers would.
 */
import { statusPage } from './status-page';

export const { html, contentSecurityPolicy } = statusPage();
