/**
 * `zen-status-page` under Jest: the status page assembled from its sources as the bundler assembles it for the
 * workers (`bundler/status-page.ts`), so the workers' modules run in Node tests with the page they would serve.
 */
import { statusPage } from '../../bundler/status-page';

export const { html, contentSecurityPolicy } = statusPage();
