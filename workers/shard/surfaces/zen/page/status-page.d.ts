/**
 * The status page as `bundler/status-page.ts` assembles it from this folder at build time (the markup with its style
 * and compiled client script inlined), and the policy that allows exactly those two. The bundler's `alias` resolves
 * the module for both workers; under Jest, `moduleNameMapper` assembles it the same way.
 */
declare module 'zen-status-page' {
  /** the whole page, as served */
  export const html: string;
  /** the Content-Security-Policy that lets its inline script and style run, by their SHA-256 hashes */
  export const contentSecurityPolicy: string;
}
