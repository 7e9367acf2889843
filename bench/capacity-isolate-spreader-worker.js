// Bench-only: stands in for one shard and forwards each request to one of its COPY_<n> service bindings, chosen at
// random. Each copy is a separate workerd worker running the shard's own script with the shard's own bindings, so it
// has its own memory, as each of the isolates Cloudflare runs for one worker does: every copy keeps its own key
// cooldowns and has to learn for itself that a key ran out (docs/benchmarks.md, "Capacity").
export default {
  fetch(request, env) {
    const copies = Object.keys(env).filter((name) => /^COPY_[0-9]+$/.test(name));
    return env[copies[Math.floor(Math.random() * copies.length)]].fetch(request);
  },
};
