/**
 * Live API sessions (`live.connect` of `@google/genai`): a WebSocket upgrade whose credential the edge has checked,
 * opened upstream on a pool key in `x-goog-api-key` (never in the URL, and never the client's password), or, for
 * `BidiGenerateContentConstrained`, on the client's own ephemeral token passed through as `access_token`.
 *
 * The worker accepts the client's socket from a `WebSocketPair` and pipes it to Google's (`./bridge.ts`) instead of
 * handing the client Google's socket as is: the runtime would pipe that one too, but the worker would then never
 * see the session end, and the close line (code, duration) is what tells an operator why sessions drop. Messages are
 * passed on one by one as they arrive, so nothing is held back beyond the message in hand.
 */
import { REQUEST_ID_HEADER } from '../../../shared/request-id';
import { bridgeSockets, type WebSocketRuntime } from './bridge';
import { redact } from '../../core/redaction';
import { redactText } from '../../core/redaction-stream';
import { ANY_MODEL } from '../../core/key-pool';
import { Refusal, refusalOutcome } from '../../edge/refusal';
import type { LiveRoute } from './routes';
import { type Admitted, type HandlerDeps, type LineFacts, type Outcome, secretsOf } from '../contract';
import { attemptFacts, noAnswerRefusal, noKeysConfigured, sendPlan } from '../../core/upstream-plan';

const FORWARDED_REQUEST_HEADERS = ['user-agent', 'x-goog-api-client'] as const;

function upstreamHeaders(request: Request): Headers {
  const headers = new Headers({ upgrade: 'websocket' });
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return headers;
}

/** Opens the session upstream: on a pool key through the key core, or with the client's ephemeral token alone. */
async function openUpstream(
  route: LiveRoute,
  a: Admitted,
  deps: HandlerDeps,
): Promise<{ readonly response: Response; readonly facts: Partial<LineFacts> } | Outcome> {
  if (route.accessToken !== undefined) {
    const url = `${a.config.baseUrl}${route.upstreamPath}?access_token=${encodeURIComponent(route.accessToken)}`;
    try {
      const response = await deps.fetch(url, { headers: upstreamHeaders(a.request), redirect: 'manual' });
      return { response, facts: { attempts: 1 } };
    } catch {
      return refusalOutcome(
        new Refusal(502, 'upstream_unreachable', 'Gemini could not be reached.'),
        a.errors,
        a.requestId,
        {
          attempts: 1,
        },
      );
    }
  }
  if (a.config.keys.length === 0) return refusalOutcome(noKeysConfigured(), a.errors, a.requestId);
  const plan = {
    path: route.upstreamPath,
    method: 'GET' as const,
    headers: upstreamHeaders(a.request),
    keyStyle: 'goog-header' as const,
    // a session may use any model its setup message names, after the key is chosen: no model scope applies
    model: ANY_MODEL,
  };
  const result = await sendPlan(plan, a, deps);
  if (result.kind !== 'response') {
    const { refusal, facts } = noAnswerRefusal(result, a, deps, ANY_MODEL, secretsOf(a.config));
    return refusalOutcome(refusal, a.errors, a.requestId, { ...attemptFacts(result), ...facts });
  }
  return { response: result.response, facts: attemptFacts(result) };
}

/** Serves a Live API session: 101 with the bridged socket, or the reason none was opened. */
export async function serveLiveRoute(route: LiveRoute, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  const runtime: WebSocketRuntime | undefined = deps.webSockets;
  if (runtime === undefined) {
    return refusalOutcome(
      new Refusal(501, 'websocket_unsupported', 'This runtime cannot open WebSockets.'),
      a.errors,
      a.requestId,
    );
  }
  if (a.request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
    return refusalOutcome(
      new Refusal(426, 'upgrade_required', 'The Live API is a WebSocket: connect with "Upgrade: websocket".', {
        upgrade: 'websocket',
      }),
      a.errors,
      a.requestId,
    );
  }
  const opened = await openUpstream(route, a, deps);
  if (!('facts' in opened)) return opened;
  const { response, facts } = opened;
  const secrets = secretsOf(a.config);
  const upstream = response.status === 101 ? runtime.socketOf(response) : undefined;
  if (upstream === undefined) {
    // Google refused the session before it began: its error, secrets redacted, with its status
    const text = redact(await response.text().catch(() => ''), secrets);
    const status = response.status >= 400 ? response.status : 502;
    const headers = { 'content-type': response.headers.get('content-type') ?? 'text/plain; charset=utf-8' };
    return {
      response: new Response(text, { status, headers }),
      line: { ...facts, attempts: facts.attempts ?? 1, status, upstreamStatus: response.status },
    };
  }
  const started = deps.now();
  const { server, response: upgraded } = runtime.upgrade(new Headers({ [REQUEST_ID_HEADER]: a.requestId }));
  bridgeSockets(
    server,
    upstream,
    (text) => redactText(text, secrets),
    (by, code) =>
      deps.log({
        event: 'live_closed',
        requestId: a.requestId,
        route: route.name,
        ...(facts.keyIndex !== undefined ? { keyIndex: facts.keyIndex } : {}),
        by,
        code,
        ms: deps.now() - started,
      }),
  );
  return { response: upgraded, line: { ...facts, attempts: facts.attempts ?? 1, status: 101, upstreamStatus: 101 } };
}
