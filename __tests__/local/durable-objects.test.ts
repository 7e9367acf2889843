/**
 * Durable Objects in the emulated topology (scripts/local/durable-objects.ts through `buildTopology`): a
 * `durable_object_namespace` binding becomes Miniflare's `durableObjects` entry, its own class or another worker's
 * by `script_name`; the class must come from a migration of the worker that holds it (an object, or the client
 * limiter's expression), SQLite-backed when the migration says so; anything else fails naming resource and attribute.
 */
import { createHash } from 'node:crypto';
import { buildTopology, TopologyError, type TopologyOptions } from '../../scripts/local/emulated-topology';
import { defined } from '../helpers/guards';

const STACK_DIR = '/fixture/stacks/prod';
const CODE = 'export class Counter {} export default { fetch() { return new Response("ok"); } };';
const sha = createHash('sha256').update(CODE).digest('hex');

type Json = Record<string, unknown>;

const LIMITER_MIGRATION =
  '${contains([for s in data.cloudflare_workers_scripts.Host_Scripts.result : s.id if s.migration_tag == "zen-client-limiter-v1"], "host") ? null : { new_tag = "zen-client-limiter-v1", new_sqlite_classes = ["ClientRateLimiter"] }}';

function script(name: string, bindings: Json[], migrations?: unknown): Json {
  return {
    script_name: name,
    content_file: 'code.js',
    content_sha256: sha,
    main_module: 'code.js',
    compatibility_date: '2026-04-20',
    bindings,
    ...(migrations === undefined ? {} : { migrations }),
  };
}

function stack(host: Json, guest: Json): Json {
  return {
    resource: {
      cloudflare_workers_script: { Host: host, Guest: guest },
      cloudflare_workers_script_subdomain: {
        Host_Subdomain: { enabled: true, script_name: '${cloudflare_workers_script.Host.script_name}' },
        Guest_Subdomain: { enabled: false, script_name: '${cloudflare_workers_script.Guest.script_name}' },
      },
    },
  };
}

const own = { name: 'COUNTER', type: 'durable_object_namespace', class_name: 'Counter' };
const hosts = { ...own, script_name: '${cloudflare_workers_script.Host.script_name}' };

const options: TopologyOptions = {
  stackDir: STACK_DIR,
  secrets: { apiKeys: [], pass: 'p' },
  readFile: () => new TextEncoder().encode(CODE),
};

function objectsOf(json: Json): Record<string, unknown> {
  const topology = buildTopology(json, options);
  return Object.fromEntries(topology.workers.map((w) => [w.scriptName, w.options.durableObjects]));
}

describe('Durable Object namespaces in the emulation', () => {
  it("binds the host's own class and, by script_name, another worker's, SQLite-backed as migrated", () => {
    const json = stack(
      script('host', [own], { new_tag: 'v1', new_sqlite_classes: ['Counter'] }),
      script('guest', [hosts]),
    );
    expect(objectsOf(json)).toEqual({
      host: { COUNTER: { className: 'Counter', useSQLite: true } },
      guest: { COUNTER: { className: 'Counter', useSQLite: true, scriptName: 'host' } },
    });
  });

  it('reads the client limiter migration expression as the migration it declares on a fresh deployment', () => {
    const limiter = { name: 'CLIENT_LIMITER', type: 'durable_object_namespace', class_name: 'ClientRateLimiter' };
    const json = stack(script('host', [limiter], LIMITER_MIGRATION), script('guest', []));
    expect(objectsOf(json).host).toEqual({ CLIENT_LIMITER: { className: 'ClientRateLimiter', useSQLite: true } });
  });

  it('keeps a key-value class key-value, and leaves workers without bindings as they were', () => {
    const json = stack(script('host', [own], { new_tag: 'v1', new_classes: ['Counter'] }), script('guest', []));
    const objects = objectsOf(json);
    expect(objects.host).toEqual({ COUNTER: { className: 'Counter', useSQLite: false } });
    expect(objects.guest).toBeUndefined();
  });

  describe('throws, naming resource and attribute', () => {
    const fails = (json: Json, message: string): void => {
      expect(() => buildTopology(json, options)).toThrow(TopologyError);
      expect(() => buildTopology(json, options)).toThrow(message);
    };

    it('when no migration of the holding worker creates the class', () => {
      fails(
        stack(script('host', [own]), script('guest', [])),
        'cloudflare_workers_script.Host binds COUNTER to the Durable Object class Counter of host, which no migration of that worker creates: Cloudflare refuses such a binding (error 10061)',
      );
      fails(
        stack(script('host', [], { new_sqlite_classes: ['Other'] }), script('guest', [hosts])),
        'cloudflare_workers_script.Guest binds COUNTER to the Durable Object class Counter of host',
      );
    });

    it('when migrations is another expression, or carries what the emulation does not apply', () => {
      fails(
        stack(script('host', [own], '${var.migrations}'), script('guest', [])),
        'cloudflare_workers_script.Host.migrations is the Terraform expression "${var.migrations}", which cannot be emulated',
      );
      fails(
        stack(
          script('host', [own], { new_sqlite_classes: ['Counter'], deleted_classes: ['Old'] }),
          script('guest', []),
        ),
        'cloudflare_workers_script.Host.migrations.deleted_classes is not supported by the local emulation',
      );
    });

    it('when a binding names an environment, or a worker outside the stack', () => {
      const migrated = { new_sqlite_classes: ['Counter'] };
      fails(
        stack(script('host', [{ ...own, environment: 'staging' }], migrated), script('guest', [])),
        'cloudflare_workers_script.Host.bindings[0].environment is not supported by the local emulation',
      );
      fails(
        stack(script('host', [], migrated), script('guest', [{ ...own, script_name: 'elsewhere' }])),
        'cloudflare_workers_script.Guest.bindings[0].script_name names the worker "elsewhere", which is not in this stack',
      );
      fails(
        stack(script('host', [{ ...own, namespace_id: 'abc' }], migrated), script('guest', [])),
        'cloudflare_workers_script.Host.bindings[0].namespace_id is not supported for a durable_object_namespace binding',
      );
    });
  });

  it('still lists the types it supports when a binding type is unknown', () => {
    const json = stack(script('host', [{ name: 'Q', type: 'queue' }]), script('guest', []));
    expect(() => buildTopology(json, options)).toThrow(
      'cloudflare_workers_script.Host.bindings[0].type is "queue", which the local emulation does not support (supported: secret_text, plain_text, service); durable_object_namespace is supported too',
    );
    expect(
      defined(buildTopology(stack(script('host', []), script('guest', [])), options).publicWorker, 'public').scriptName,
    ).toBe('host');
  });
});
