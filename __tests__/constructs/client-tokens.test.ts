/**
 * The `client_tokens` variable and the `CLIENT_TOKENS` binding, as synthesized: one sensitive map declared by both
 * stacks with its validation blocks, bound once to every shard worker and never to the orchestrator; and the rule
 * mirror `npm start` uses without Terraform.
 */
import { clientTokensProblem } from '../../constructs';
import { terraformJsonEncode } from '../../constructs/client-tokens';
import { previewStack, prodStack, scriptsByName, synthJson, type StackJson } from '../fixtures/synth';

const prod = (): StackJson => synthJson(prodStack());
const preview = (): StackJson => synthJson(previewStack());

const TOKEN = 'a'.repeat(24);

describe('client_tokens variable', () => {
  test.each([
    ['prod', prod],
    ['preview', preview],
  ])('%s declares it sensitive, a map of strings, empty by default, with its validation blocks', (_name, synth) => {
    const variable = synth().variable.client_tokens as Record<string, unknown>;
    expect(variable).toMatchObject({ type: 'map(string)', sensitive: true, nullable: false, default: {} });
    expect(variable.validation).toEqual([
      {
        condition:
          '${alltrue([for name in keys(var.client_tokens) : can(regex("^[a-z0-9][a-z0-9_-]{0,31}$", name)) && name != "pass"])}',
        error_message: expect.stringMatching(
          /^client_tokens names must be 1 to 32 lower-case letters.*TF_VAR_client_tokens/,
        ),
      },
      {
        condition:
          '${alltrue([for token in values(var.client_tokens) : length(token) >= 24 && can(regex("^[!-~]+$", token))])}',
        error_message: expect.stringMatching(/^client_tokens tokens must be at least 24 printable ASCII characters/),
      },
      {
        condition: '${length(distinct(values(var.client_tokens))) == length(var.client_tokens)}',
        error_message: 'client_tokens must not give two clients the same token: each client needs its own.',
      },
      {
        condition: '${!contains(values(var.client_tokens), var.pass)}',
        error_message: expect.stringMatching(/^client_tokens must not contain the value of pass/),
      },
      {
        condition: '${length(jsonencode(var.client_tokens)) <= 5120}',
        error_message: expect.stringMatching(/^client_tokens, encoded as JSON, must fit in 5120 characters/),
      },
    ]);
  });

  test('every shard worker binds the whole map as one secret, CLIENT_TOKENS, and the orchestrator does not', () => {
    const scripts = { ...scriptsByName(prod()), ...scriptsByName(preview()) };
    for (const [name, script] of Object.entries(scripts)) {
      const bound = script.bindings.filter((b) => b.name === 'CLIENT_TOKENS');
      if (name === 'zen-ai-router-orchestrator') {
        expect(bound).toEqual([]);
      } else {
        expect(bound).toEqual([
          { name: 'CLIENT_TOKENS', type: 'secret_text', text: '${jsonencode(var.client_tokens)}' },
        ]);
      }
    }
    expect(Object.keys(scripts)).toHaveLength(5);
  });
});

describe('clientTokensProblem (what Terraform would say, for npm start)', () => {
  test('accepts none, and well-formed tokens', () => {
    expect(clientTokensProblem({}, 'pw')).toBeUndefined();
    expect(clientTokensProblem({ alice: TOKEN, 'ci_bot-2': `${TOKEN}b` }, 'pw')).toBeUndefined();
  });

  test.each([
    ['an upper-case name', { Alice: TOKEN }, /^client_tokens names must/],
    ['the reserved name pass', { pass: TOKEN }, /^client_tokens names must/],
    ['a 33-character name', { ['a'.repeat(33)]: TOKEN }, /^client_tokens names must/],
    ['a token that is not a string', { alice: 42 }, /^client_tokens tokens must be strings/],
    ['a 23-character token', { alice: 'a'.repeat(23) }, /^client_tokens tokens must be at least 24/],
    ['a token with a space', { alice: `${TOKEN} b` }, /^client_tokens tokens must be at least 24/],
    ['a token with a non-ASCII character', { alice: `${TOKEN}é` }, /^client_tokens tokens must be at least 24/],
    ['two equal tokens', { alice: TOKEN, bob: TOKEN }, /^client_tokens must not give two clients the same token/],
    ['a token equal to pass', { alice: TOKEN }, /^client_tokens must not contain the value of pass/, TOKEN],
    [
      'a map over 5 KB as JSON',
      Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`c${i}`, `${TOKEN}${i}`])),
      /^client_tokens, encoded as JSON, must fit in 5120 characters/,
    ],
  ])('refuses %s, quoting no token', (_label, tokens, message, pass = 'pw') => {
    const problem = clientTokensProblem(tokens as Record<string, unknown>, pass);
    expect(problem).toMatch(message);
    expect(problem).not.toContain(TOKEN);
  });
});

describe('terraformJsonEncode', () => {
  it("writes what Terraform's jsonencode writes: keys sorted, <, >, &, U+2028 and U+2029 escaped, other text as is", () => {
    expect(terraformJsonEncode({ b: 'x\u2028\u2029é', a: '<&>' })).toBe(
      '{"a":"\\u003c\\u0026\\u003e","b":"x\\u2028\\u2029é"}',
    );
    expect(terraformJsonEncode('a&b')).toBe('"a\\u0026b"');
  });

  it('measures the size rule on that text, which is longer than JSON.stringify when tokens hold <, > or &', () => {
    const amp = '&'.repeat(24);
    const tokens = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [`c${i}`, `${amp}${String(i).padStart(2, '0')}`]),
    );
    expect(JSON.stringify(tokens).length).toBeLessThanOrEqual(5 * 1024);
    expect(terraformJsonEncode(tokens).length).toBeGreaterThan(5 * 1024);
    expect(clientTokensProblem(tokens, 'p')).toMatch(/must fit in 5120 characters/);
  });
});
