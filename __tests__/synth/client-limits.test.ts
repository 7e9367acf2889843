/**
 * The `CLIENT_LIMITS` synth setting (config.ts): read into the stacks' `clientLimits`, left out of the configuration
 * when unset (so nothing changes), counted against the keys a shard holds, and a bad limit fails synth, `cdktf synth`
 * itself included, with a message naming the client and the field.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_VARIABLES, loadConfig } from '../../config';
import { runSynth } from '../../scripts/local/synth';

const load = (env: Record<string, string>) => loadConfig(env, '/repo');

describe('CLIENT_LIMITS', () => {
  it('is read as the limits of each named client', () => {
    const config = load({ CLIENT_LIMITS: '{"alice":{"rpm":60},"bob":{"rpm":600,"burst":20}}' });
    expect(config.stack.clientLimits).toEqual({ alice: { rpm: 60 }, bob: { rpm: 600, burst: 20 } });
  });

  it('leaves the configuration as it was when unset', () => {
    expect(Object.keys(load({}).stack)).not.toContain('clientLimits');
  });

  it.each([
    ['{"alice":{"rpm":0}}', 'CLIENT_LIMITS.alice.rpm must be an integer from 1 to 100000 (requests a minute), got 0'],
    [
      '{"alice":{"rpm":60,"burst":"5"}}',
      'CLIENT_LIMITS.alice.burst must be an integer from 1 to 100000 (requests at once after a quiet spell), got "5"',
    ],
    ['{"bob":{"rmp":60}}', 'CLIENT_LIMITS.bob.rmp is not a limit; the fields are rpm and burst'],
    ['{"bob":true}', 'CLIENT_LIMITS.bob must be an object such as {"rpm":60}, got true'],
  ])('refuses %s naming the client and the field', (text, message) => {
    expect(() => load({ CLIENT_LIMITS: text })).toThrow(message);
  });

  it('takes a key from each shard: a KEYS_PER_SHARD that fits without it no longer fits', () => {
    expect(() => load({ KEY_COUNT: '120', KEYS_PER_SHARD: '58' })).not.toThrow();
    expect(() => load({ KEY_COUNT: '120', KEYS_PER_SHARD: '58', CLIENT_LIMITS: '{"alice":{"rpm":1}}' })).toThrow(
      /^KEYS_PER_SHARD must be an integer from 1 to 57 \(.*CLIENT_LIMITS\), or set WORKERS_PLAN=paid, or leave CLIENT_LIMITS unset, got "58"$/,
    );
  });

  it('fails `cdktf synth` with the configuration error naming the client and the field', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'zen-limits-synth-'));
    try {
      const inherited = Object.fromEntries(
        Object.entries(process.env).filter(([name]) => !(CONFIG_VARIABLES as readonly string[]).includes(name)),
      );
      await expect(
        runSynth({ outDir, env: { ...inherited, CLIENT_LIMITS: '{"alice":{"rpm":60},"bob":{"rpm":-5}}' } }),
      ).rejects.toThrow(
        /^synth failed \(exit 1\):\nconfiguration error: CLIENT_LIMITS\.bob\.rpm must be an integer from 1 to 100000 \(requests a minute\), got -5$/,
      );
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});
