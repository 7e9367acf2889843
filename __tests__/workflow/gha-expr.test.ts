import { conditionPasses, evaluate } from './gha-expr';

// The workflow tests trust this evaluator to say which jobs run, so it gets GitHub's semantics checked here.
describe('gha-expr', () => {
  const ctx = {
    contexts: {
      github: { event_name: 'push', event: { action: null }, actor: 'Dependabot[bot]' },
      needs: { a: { result: 'failure' } },
    },
  };

  it('compares strings case-insensitively, like GitHub', () => {
    expect(evaluate("github.actor == 'dependabot[bot]'", ctx)).toBe(true);
    expect(evaluate("github.event_name != 'PUSH'", ctx)).toBe(false);
  });

  it('treats missing properties as null and returns operands from && and ||', () => {
    expect(evaluate("github.event.action != 'closed'", ctx)).toBe(true);
    expect(evaluate('github.event.pull_request.number', ctx)).toBeNull();
    expect(evaluate("needs.a.result == 'failure' && 'destroy-failed' || 'failed'", ctx)).toBe('destroy-failed');
    expect(evaluate("needs.a.result == 'success' && 'destroyed' || 'failed'", ctx)).toBe('failed');
    expect(evaluate("${{ !(github.event_name == 'push') }}", ctx)).toBe(false);
  });

  it('adds the implicit success() unless the condition calls a status function', () => {
    const failed = { ...ctx, status: { success: false, failure: true } };
    expect(conditionPasses("github.event_name == 'push'", failed)).toBe(false);
    expect(conditionPasses("always() && github.event_name == 'push'", failed)).toBe(true);
    expect(conditionPasses('failure()', failed)).toBe(true);
    expect(conditionPasses(undefined, failed)).toBe(false);
  });

  it('rejects syntax it does not understand instead of guessing', () => {
    expect(() => evaluate('startsWith(github.actor)', ctx)).toThrow(/unsupported function startsWith/);
    expect(() => evaluate("contains(github.actor, 'bot')", ctx)).toThrow(/unsupported character ","/);
    expect(() => evaluate('github.actor > 1', ctx)).toThrow(/unsupported character ">"/);
  });
});
