/**
 * The Content-Security-Policy of the runtime's own pages (/docs, /console): everything they load comes from this
 * runtime, so a browser refuses anything else, the pages work offline and leak nothing to a third party, and no
 * inline script runs. Images may be data: URIs (icons drawn by CSS).
 */
export function selfOnlyContentSecurityPolicy(options: { inlineStyles?: boolean } = {}): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    options.inlineStyles ? "style-src 'self' 'unsafe-inline'" : "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}
