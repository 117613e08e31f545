/**
 * The real procbeat CLI with one extra dataset, `fake/burst`, for tests that spawn procbeat
 * without depending on the process module:
 *   node dist/test/core/cli-fixture-beat.js run -c FILE ...
 * `fake/burst` (push) emits `count` events as fast as the pipeline takes them, then idles
 * until stopped. The test runner also executes this file (it lives under test/); with no
 * arguments it does nothing.
 */
import { main } from '../../core/cli/main.js';
import { registerDataset } from '../../core/registry/registry.js';
import type { BeatEvent } from '../../core/api/event.js';

interface BurstConfig { count: number }

if (process.argv.length > 2) {
  registerDataset<BurstConfig>({
    module: 'fake',
    name: 'burst',
    validate(block) {
      const errors: string[] = [];
      for (const key of Object.keys(block)) if (key !== 'count') errors.push(`unknown setting '${key}'`);
      const count = block['count'] ?? 100;
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) errors.push(`invalid count '${String(count)}'`);
      return errors.length > 0 ? { ok: false, errors } : { ok: true, config: { count: count as number } };
    },
    async create(config) {
      return {
        kind: 'push',
        async *events(signal: AbortSignal): AsyncIterable<BeatEvent> {
          for (let i = 0; i < config.count && !signal.aborted; i++) {
            yield { timestamp: new Date(), fields: { message: `burst ${i}`, event: { sequence: i, dataset: 'fake.burst' } } };
          }
          await new Promise<void>((resolve) => {
            if (signal.aborted) resolve();
            else signal.addEventListener('abort', () => resolve(), { once: true });
          });
        },
      };
    },
  });
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => { console.error(err instanceof Error ? err.message : String(err)); process.exitCode = 1; },
  );
}
