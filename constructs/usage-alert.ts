/**
 * The one alert about the workers that provider 5.14 can declare: a Usage Based Billing notification
 * (`cloudflare_notification_policy`, `alert_type = "billing_usage_alert"`) on the account's Workers requests, sent to
 * email addresses and Cloudflare notification webhooks when the requests billed in the period pass a threshold. The
 * provider's own acceptance test declares exactly this policy (`filters = { product = ["worker_requests"], limit =
 * ["100"] }`).
 *
 * Provider 5.14 has no alert type for a Worker's error rate or latency: those are Workers Observability alerts, made
 * in the dashboard (docs/operations.md "Alerts" says what to click). Usage Based Billing exists only for usage that is
 * billed, so the alert needs the paid Workers plan.
 *
 * @module
 */
import { Construct } from 'constructs';
import { NotificationPolicy } from '@cdktf/provider-cloudflare/lib/notification-policy';
import type { WorkersPlan } from './limits';
import * as rules from './validate';

/** What `billing_usage_alert` calls the requests of every Worker of the account. */
export const WORKER_REQUESTS_PRODUCT = 'worker_requests';

/** The requests Workers Paid includes per month: the default threshold, past which requests are billed. */
export const DEFAULT_ALERT_REQUESTS = 10_000_000;

/** The alert as configured: where it goes and when it fires. Addresses are not secret, but they are personal. */
export interface UsageAlertSettings {
  /** email addresses that receive it */
  readonly emails: readonly string[];
  /** ids of webhook destinations made under Notifications → Destinations (their URLs and secrets stay there) */
  readonly webhookIds: readonly string[];
  /**
   * Workers requests in the billing period past which it fires.
   *
   * @default DEFAULT_ALERT_REQUESTS
   */
  readonly requests?: number;
}

export interface UsageAlertProps extends UsageAlertSettings {
  readonly accountId: string;
  readonly workersPlan: WorkersPlan;
  /** names the policy, so two deployments on one account can tell theirs apart */
  readonly namePrefix: string;
}

export const EMAIL_PATTERN = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;
/** A notification destination id: 32 hex characters, with or without a UUID's dashes. */
export const WEBHOOK_ID_PATTERN = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/;

/** Why the settings cannot make an alert, or undefined. `fields` names the props (or variables) in messages. */
export function usageAlertProblem(
  settings: UsageAlertSettings,
  plan: WorkersPlan,
  fields: { readonly emails: string; readonly webhookIds: string; readonly requests: string; readonly plan: string },
): rules.RuleResult {
  const { emails, webhookIds, requests } = settings;
  if (emails.length + webhookIds.length === 0)
    return `${fields.emails} or ${fields.webhookIds} must name where the usage alert goes, got neither`;
  const badEmail = emails.find((e) => !EMAIL_PATTERN.test(e));
  if (badEmail !== undefined)
    return `${fields.emails} must be email addresses separated by commas, got ${rules.received(badEmail)}`;
  const badId = webhookIds.find((id) => !WEBHOOK_ID_PATTERN.test(id));
  if (badId !== undefined)
    return `${fields.webhookIds} must be notification webhook ids (32 hex characters, from Notifications → Destinations), got ${rules.received(badId)}`;
  if (plan !== 'paid')
    return (
      `${fields.plan} must be paid for a usage alert (${fields.emails}/${fields.webhookIds}): Usage Based Billing ` +
      `notifications watch billed usage, and Workers Free bills none, got ${rules.received(plan)}`
    );
  return requests === undefined ? undefined : rules.positiveInteger(fields.requests, requests);
}

/**
 * The alert as a caller's variables give it (`fields` names them): undefined when none is set, else checked settings;
 * a threshold alone is a mistake (there is nowhere to send it).
 *
 * @throws ValidationError naming the field at fault
 */
export function usageAlertFrom(
  given: { readonly emails?: readonly string[]; readonly webhookIds?: readonly string[]; readonly requests?: number },
  plan: WorkersPlan,
  fields: Parameters<typeof usageAlertProblem>[2],
): UsageAlertSettings | undefined {
  const { emails = [], webhookIds = [], requests } = given;
  if (emails.length + webhookIds.length === 0 && requests === undefined) return undefined;
  const settings = { emails, webhookIds, ...(requests === undefined ? {} : { requests }) };
  rules.assertValid([usageAlertProblem(settings, plan, fields)]);
  return settings;
}

/**
 * An account-wide notification: declare it in one stack only (prod), or two deployments would each own a copy.
 *
 * @example
 * new UsageAlert(stack, 'UsageAlert', { accountId, workersPlan: 'paid', namePrefix, emails: ['ops@example.com'], webhookIds: [] });
 */
export class UsageAlert extends Construct {
  public readonly policy: NotificationPolicy;

  constructor(scope: Construct, id: string, props: UsageAlertProps) {
    super(scope, id);
    rules.assertValid([
      usageAlertProblem(props, props.workersPlan, {
        emails: 'emails',
        webhookIds: 'webhookIds',
        requests: 'requests',
        plan: 'workersPlan',
      }),
    ]);
    const requests = props.requests ?? DEFAULT_ALERT_REQUESTS;
    this.policy = new NotificationPolicy(this, 'Policy', {
      accountId: props.accountId,
      name: `${props.namePrefix}: Workers requests over ${requests.toLocaleString('en-US')}`,
      description: `Workers requests of the account passed ${requests} in the billing period (zen-ai-router deploy)`,
      alertType: 'billing_usage_alert',
      enabled: true,
      filters: { product: [WORKER_REQUESTS_PRODUCT], limit: [String(requests)] },
      mechanisms: {
        email: props.emails.length === 0 ? undefined : props.emails.map((address) => ({ id: address })),
        webhooks: props.webhookIds.length === 0 ? undefined : props.webhookIds.map((webhookId) => ({ id: webhookId })),
      },
    });
  }
}
