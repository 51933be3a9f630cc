// The app's Content-Security-Policy, in one place: vite.config.ts sends it as a header from the dev and preview
// servers, the README's "Hosting" section shows the same value for anyone serving dist/, and the service worker
// (public/sw.js) extends its connect-src with the model hosts the user downloaded from (see extendConnectSrc).
//
// Why each directive:
// - script-src 'self' 'wasm-unsafe-eval': only the app's own files run; onnxruntime-web compiles WebAssembly, which
//   CSP treats as eval unless 'wasm-unsafe-eval' is named. No 'unsafe-inline' / 'unsafe-eval' for scripts.
// - worker-src 'self' blob:: the engine, download and onnxruntime-web's thread workers are same-origin module
//   scripts; blob: is kept for onnxruntime-web builds that start their proxy worker from a blob.
// - connect-src 'self' + model hosts: fetch() reaches only the app's origin (its demo bundle, its wasm files) and
//   the hosts that serve model bundles. A host admin lists fixed hosts (PSA_CSP_CONNECT); hosts the user types are
//   added per browser by the service worker.
// - img-src 'self' data: blob:: index.html's empty favicon is `data:,`; the gallery shows its stored PNGs through blob: URLs
//   (object URLs of Blobs read from IndexedDB: nothing from elsewhere); generated images are drawn into a canvas.
// - style-src 'self': the built CSS is a file, and React sets `style` through the CSSOM, which CSP does not govern.
// - object-src 'none', base-uri 'self', form-action 'self', frame-ancestors 'none': nothing embedded, no <base>
//   rewriting, no form posts elsewhere, and no page may frame the app (frame-ancestors works only as a header).
//
// Pure string functions, imported by Node (vite.config.ts, tests) and by browser code alike.

export interface CspOptions {
  /** Origins fetch() may reach besides the app's own (model hosts), e.g. `https://models.example.org`. */
  connect?: readonly string[];
  /**
   * Dev server only: the nonce Vite writes on the inline scripts and styles it injects (React Refresh's preamble,
   * CSS modules as <style>). Never for a build: a nonce fixed in a config is public and would admit any inline script.
   */
  devNonce?: string;
}

/** The policy as one header value. */
export function contentSecurityPolicy(o: CspOptions = {}): string {
  const connect = (o.connect ?? []).map(checkOrigin);
  const nonce = o.devNonce ? [`'nonce-${o.devNonce}'`] : [];
  const directives: [string, string[]][] = [
    ['default-src', ["'self'"]],
    ['script-src', ["'self'", "'wasm-unsafe-eval'", ...nonce]],
    ['worker-src', ["'self'", 'blob:']],
    ['connect-src', ["'self'", ...new Set(connect)]],
    ['img-src', ["'self'", 'data:', 'blob:']],
    ['style-src', ["'self'", ...nonce]],
    ['object-src', ["'none'"]],
    ['base-uri', ["'self'"]],
    ['form-action', ["'self'"]],
    ['frame-ancestors', ["'none'"]],
  ];
  return directives.map(([name, sources]) => `${name} ${sources.join(' ')}`).join('; ');
}

/**
 * An origin as connect-src needs it (`scheme://host[:port]`, http or https), or an Error naming the entry. Anything
 * else is refused rather than passed on: a stray `;` or `'unsafe-inline'` in a list would change the policy itself.
 */
export function checkOrigin(entry: string): string {
  let u: URL;
  try {
    u = new URL(entry);
  } catch {
    throw new Error(`CSP: "${entry}" is not an origin (expected e.g. https://models.example.org)`);
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.origin !== entry.replace(/\/$/, '')) {
    throw new Error(`CSP: "${entry}" is not an origin (expected scheme://host[:port] with http or https, no path)`);
  }
  return u.origin;
}

/** A space- or comma-separated origin list (the PSA_CSP_CONNECT variable) → origins; empty or unset → []. */
export function parseOriginList(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter(Boolean).map(checkOrigin);
}

/**
 * `policy` (one header value, possibly several policies joined by ", ") with `origins` added to connect-src in each
 * policy that restricts connections. A policy without connect-src falls back to default-src, so it gets a
 * connect-src copied from its default-src plus the origins; one with neither does not restrict fetch() and is left
 * alone. public/sw.js carries a copy of this function (it is not bundled); tests/build/csp.test.ts keeps them equal.
 */
export function extendConnectSrc(policy: string, origins: readonly string[]): string {
  if (!origins.length) return policy;
  return policy.split(',').map((one) => {
    const parts = one.split(';').map((d) => d.trim()).filter(Boolean);
    const at = (name: string) => parts.findIndex((d) => d.split(/\s+/)[0].toLowerCase() === name);
    const connect = at('connect-src');
    const fallback = at('default-src');
    if (connect < 0 && fallback < 0) return one.trim();
    const base = connect >= 0 ? parts[connect] : `connect-src${parts[fallback].slice('default-src'.length)}`;
    const sources = base.split(/\s+/).slice(1);
    // 'none' alone means no connections; adding a host to it would be ignored by the browser, so it is replaced.
    const kept = sources.filter((s) => s.toLowerCase() !== "'none'");
    const added = origins.filter((o) => !kept.includes(o));
    const directive = ['connect-src', ...kept, ...added].join(' ');
    if (connect >= 0) parts[connect] = directive;
    else parts.push(directive);
    return parts.join('; ');
  }).join(', ');
}

/** What a `securitypolicyviolation` event says, reduced to what the app reports. */
export interface Violation {
  directive: string;
  blocked: string;
}

/**
 * Listens for CSP violations on a page or worker global: each one is written to the console as an error (a
 * violation inside a worker otherwise appears only in DevTools' own log of that worker, never on the page's
 * console that tests and people watch) and passed to `onViolation`.
 */
export function watchViolations(target: Pick<EventTarget, 'addEventListener'>, where: string, onViolation?: (v: Violation) => void): void {
  target.addEventListener('securitypolicyviolation', (ev) => {
    const e = ev as SecurityPolicyViolationEvent;
    const v = { directive: e.effectiveDirective || e.violatedDirective, blocked: e.blockedURI };
    console.error(`Refused by the Content-Security-Policy (${v.directive}) in the ${where}: ${v.blocked || 'inline code'}`);
    onViolation?.(v);
  });
}
