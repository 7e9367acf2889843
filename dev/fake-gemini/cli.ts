/**
 * The fake on its own: `tsx dev/fake-gemini/cli.ts --port 8788 [--stream-chunks 5] [--chunk-delay-ms 50]
 * [--behaviour ok]`.
 *
 * @module
 */
import { FAKE_BEHAVIOURS, type FakeBehaviour } from './behaviours';
import { startFakeGemini, type FakeGeminiOptions } from './server';

function parseCli(argv: readonly string[]): FakeGeminiOptions & { behaviour: FakeBehaviour } {
  const opts: FakeGeminiOptions & { behaviour: FakeBehaviour } = { port: 8788, behaviour: 'ok' };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value = ''] = [argv[i], argv[i + 1]];
    const num = Number(value);
    switch (flag) {
      case '--port':
      case '--stream-chunks':
      case '--chunk-delay-ms':
        if (!Number.isInteger(num) || num < 0)
          throw new Error(`${flag} must be a non-negative integer, got "${value}"`);
        if (flag === '--port') opts.port = num;
        else if (flag === '--stream-chunks') opts.streamChunks = num;
        else opts.chunkDelayMs = num;
        break;
      case '--behaviour':
        if (!FAKE_BEHAVIOURS.includes(value as FakeBehaviour)) {
          throw new Error(`--behaviour must be one of ${FAKE_BEHAVIOURS.join(', ')}, got "${value}"`);
        }
        opts.behaviour = value as FakeBehaviour;
        break;
      default:
        throw new Error(`unknown flag "${String(flag)}"; use --port, --stream-chunks, --chunk-delay-ms, --behaviour`);
    }
  }
  return opts;
}

if (require.main === module) {
  const { behaviour, ...opts } = parseCli(process.argv.slice(2));
  void startFakeGemini(opts).then((fake) => {
    fake.setDefaultBehaviour(behaviour);
    process.stdout.write(`fake Gemini listening on ${fake.url} (default behaviour: ${behaviour})\n`);
    const stop = (): void => void fake.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
