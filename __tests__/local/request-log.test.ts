import { RequestLog, type OtherLine, type RequestSummary } from '../../scripts/local/request-log';

function collector(orchestrated: boolean): { log: RequestLog; requests: RequestSummary[]; others: OtherLine[] } {
  const requests: RequestSummary[] = [];
  const others: OtherLine[] = [];
  const log = new RequestLog({
    orchestrated,
    graceMs: 1000,
    onRequest: (r) => requests.push(r),
    onOther: (o) => others.push(o),
  });
  return { log, requests, others };
}

const orchestratorLine = (id: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ event: 'orchestrator_request', requestId: id, shard: 2, status: 200, ms: 40, ...extra });
const shardLine = (id: string): string =>
  JSON.stringify({
    event: 'request',
    requestId: id,
    route: 'embeddings',
    model: 'm',
    keyIndex: 5,
    attempts: 1,
    status: 200,
    ms: 30,
  });

describe('RequestLog', () => {
  it.each([
    ['orchestrator first', true],
    ['shard first', false],
  ])('joins the two lines of a request (%s) into one summary', (_label, orchestratorFirst) => {
    const { log, requests } = collector(true);
    const lines = [orchestratorLine('a'), shardLine('a')];
    for (const line of orchestratorFirst ? lines : lines.reverse()) log.accept(line, 0);
    expect(requests).toEqual([
      { requestId: 'a', status: 200, ms: 40, shard: 2, keyIndex: 5, route: 'embeddings', model: 'm' },
    ]);
  });

  it('prints an orchestrator error at once, since the shard wrote nothing', () => {
    const { log, requests } = collector(true);
    log.accept(orchestratorLine('b', { status: 502, error: 'shard_error' }), 0);
    expect(requests).toEqual([{ requestId: 'b', status: 502, ms: 40, shard: 2, error: 'shard_error' }]);
  });

  it('prints a half-joined request only after the grace period', () => {
    const { log, requests } = collector(true);
    log.accept(orchestratorLine('c'), 0);
    log.flush(999);
    expect(requests).toHaveLength(0);
    log.flush(1000);
    expect(requests).toEqual([{ requestId: 'c', status: 200, ms: 40, shard: 2 }]);
    log.flush(5000);
    expect(requests).toHaveLength(1);
  });

  it('prints a directly served request from the worker line alone', () => {
    const { log, requests } = collector(false);
    log.accept(shardLine('d'), 0);
    expect(requests).toEqual([{ requestId: 'd', status: 200, ms: 30, keyIndex: 5, route: 'embeddings', model: 'm' }]);
  });

  it('prints a status view through the orchestrator once, from its own line, whatever the shards logged', () => {
    const { log, requests, others } = collector(true);
    const shardStatus = (id: string) =>
      JSON.stringify({
        event: 'request',
        requestId: id,
        route: 'zen.status',
        client: 'pass',
        attempts: 0,
        status: 200,
        ms: 1,
      });
    log.accept(shardStatus('s'), 0);
    log.accept(shardStatus('s'), 0);
    log.accept(
      JSON.stringify({
        event: 'orchestrator_request',
        requestId: 's',
        route: 'zen.status',
        status: 200,
        queried: 3,
        answered: 2,
        ms: 9,
      }),
      0,
    );
    log.accept(shardStatus('s'), 0);
    log.flush(Number.POSITIVE_INFINITY);
    expect(requests).toEqual([{ requestId: 's', status: 200, ms: 9, route: 'zen.status', queried: 3, answered: 2 }]);
    expect(others).toEqual([]);
  });

  it('prints the status page through the orchestrator at once, since it asks no shard', () => {
    const { log, requests } = collector(true);
    log.accept(
      JSON.stringify({ event: 'orchestrator_request', requestId: 'p', route: 'zen.page', status: 200, ms: 0 }),
      0,
    );
    expect(requests).toEqual([{ requestId: 'p', status: 200, ms: 0, route: 'zen.page' }]);
  });

  it('carries the client name of the shard line', () => {
    const { log, requests } = collector(true);
    log.accept(JSON.stringify({ ...JSON.parse(shardLine('t')), client: 'alice' }), 0);
    log.accept(orchestratorLine('t'), 0);
    expect(requests[0]?.client).toBe('alice');
  });

  it('carries the path of a request no route took', () => {
    const { log, requests } = collector(true);
    const path = '/v1beta/v1beta/models/gemini-3.8-flash:generateContent';
    log.accept(JSON.stringify({ event: 'request', requestId: 'u', route: 'unmatched', path, status: 404, ms: 1 }), 0);
    log.accept(orchestratorLine('u', { status: 404 }), 0);
    expect(requests[0]).toMatchObject({ route: 'unmatched', path, status: 404 });
  });

  it('passes key events and plain output through unchanged', () => {
    const { log, requests, others } = collector(true);
    const keyEvent = JSON.stringify({ event: 'key_cooldown', keyIndex: 2, until: 1, reason: 'quota' });
    log.accept(keyEvent, 0);
    log.accept('Uncaught Error: boom', 0);
    expect(others).toEqual([{ text: keyEvent }, { text: 'Uncaught Error: boom' }]);
    expect(requests).toHaveLength(0);
  });
});
