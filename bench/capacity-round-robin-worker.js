// Bench-only stand-in for the worker this project replaces (zen-ai-router-worker), reduced to the key handling that
// decides its capacity (docs/benchmarks.md, "Capacity"): a module-global counter, so one per isolate, walks the
// KEY<n> bindings in turn; a 429 goes back to the client as it came, no key is ever skipped or cooled, nothing is
// retried. Written for the benchmark from that project's documented behaviour (its `selectGoogleApiKeyRoundRobin`),
// not copied from it.
let counter = 0;

export default {
  async fetch(request, env) {
    if (request.headers.get('authorization') !== `Bearer ${env.PASS}`)
      return new Response('Unauthorized', { status: 401 });
    const keys = Object.keys(env)
      .filter((name) => /^KEY[0-9]+$/.test(name))
      .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)))
      .map((name) => env[name]);
    const key = keys[counter++ % keys.length];
    const path = new URL(request.url).pathname.replace(/^\/v1\//, '/');
    return fetch(`${env.GEMINI_BASE_URL}/v1beta/openai${path}`, {
      method: request.method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: request.body,
    });
  },
};
