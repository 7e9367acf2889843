import { Testing } from 'cdktf';
import { DEFAULT_ALERT_REQUESTS, UsageAlert, usageAlertProblem } from '../../constructs';
import { prodStack, synthJson } from '../fixtures/synth';

const FIELDS = { emails: 'emails', webhookIds: 'webhookIds', requests: 'requests', plan: 'workersPlan' };
const WEBHOOK = 'f174e90afafe4643bbbc4a0ed4fc8415';

type PolicyJson = Record<string, unknown>;
const policiesOf = (json: unknown): PolicyJson[] =>
  Object.values(
    (json as { resource: Record<string, Record<string, PolicyJson>> }).resource.cloudflare_notification_policy ?? {},
  );

describe('UsageAlert', () => {
  test('a billing_usage_alert on worker_requests, to the emails and webhooks given, at the threshold', () => {
    const stack = Testing.synthScope((scope) => {
      new UsageAlert(scope, 'Alert', {
        accountId: '${var.account_id}',
        workersPlan: 'paid',
        namePrefix: 'gw',
        emails: ['ops@example.com'],
        webhookIds: [WEBHOOK],
        requests: 2_000_000,
      });
    });
    expect(policiesOf(JSON.parse(stack))).toEqual([
      {
        account_id: '${var.account_id}',
        alert_type: 'billing_usage_alert',
        name: 'gw: Workers requests over 2,000,000',
        description: 'Workers requests of the account passed 2000000 in the billing period (zen-ai-router deploy)',
        enabled: true,
        filters: { product: ['worker_requests'], limit: ['2000000'] },
        mechanisms: { email: [{ id: 'ops@example.com' }], webhooks: [{ id: WEBHOOK }] },
      },
    ]);
  });

  test('the prod stack declares it only when asked, with the included 10 million requests by default', () => {
    expect(policiesOf(synthJson(prodStack()))).toEqual([]);
    const [policy] = policiesOf(
      synthJson(prodStack({ workersPlan: 'paid', usageAlert: { emails: [], webhookIds: [WEBHOOK] } })),
    );
    expect(DEFAULT_ALERT_REQUESTS).toBe(10_000_000);
    expect(policy).toMatchObject({
      account_id: '${var.account_id}',
      filters: { product: ['worker_requests'], limit: ['10000000'] },
      mechanisms: { webhooks: [{ id: WEBHOOK }] },
    });
    expect(policy?.mechanisms).not.toHaveProperty('email');
  });

  test('refuses an alert with nowhere to go, a malformed address or id, a bad threshold, or the free plan', () => {
    const problem = (settings: Partial<Parameters<typeof usageAlertProblem>[0]>, plan: 'free' | 'paid' = 'paid') =>
      usageAlertProblem({ emails: [], webhookIds: [], ...settings }, plan, FIELDS);
    expect(problem({})).toBe('emails or webhookIds must name where the usage alert goes, got neither');
    expect(problem({ emails: ['ops at example.com'] })).toBe(
      'emails must be email addresses separated by commas, got "ops at example.com"',
    );
    expect(problem({ webhookIds: ['https://hooks.example.com/x'] })).toMatch(
      /^webhookIds must be notification webhook ids \(32 hex characters, from Notifications → Destinations\), got "https:/,
    );
    expect(problem({ emails: ['ops@example.com'], requests: 0 })).toBe(
      'requests must be a positive integer (1, 2, 3, ...), got 0',
    );
    expect(problem({ emails: ['ops@example.com'] }, 'free')).toMatch(/^workersPlan must be paid for a usage alert/);
    expect(
      problem({ emails: ['ops@example.com'], webhookIds: ['f174e90a-fafe-4643-bbbc-4a0ed4fc8415'] }),
    ).toBeUndefined();
    expect(() => prodStack({ usageAlert: { emails: ['ops@example.com'], webhookIds: [] } })).toThrow(
      /workersPlan must be paid/,
    );
  });
});
