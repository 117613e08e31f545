import { pino } from 'pino';
import { loadBeatInfo } from '../../beat/info.js';
import { buildProcessors } from '../../processors/index.js';
import { PromMetricsRegistry } from '../../monitoring/registry.js';
import { validateOutput } from '../../outputs/registry.js';
import { planDatasets, type DatasetPlan } from '../../registry/plan.js';
import { buildPlansProcessing } from '../../runner/module-processing.js';
import type { Command } from '../command.js';
import { configFromFlags, loadModules } from '../shared.js';

export const testConfigCommand: Command = {
  path: ['test', 'config'],
  summary: 'Test the configuration',
  description:
    'Load and validate the configuration: global settings, module blocks and their dataset ' +
    'settings, the output section and the processors. Prints "Config OK" and exits 0, or prints ' +
    'every problem (file: key: problem) and exits 1. Nothing is started, created or connected.',
  async run({ flags, io }) {
    const config = configFromFlags(flags);
    await loadModules();
    const info = loadBeatInfo({ paths: config.path, persist: false });
    const problems: string[] = [];
    const collect = (err: unknown): void => {
      if (err instanceof Error && (err.name === 'ConfigErrors' || err.name === 'ConfigError')) problems.push(err.message);
      else throw err;
    };
    let plans: DatasetPlan[] = [];
    try { plans = planDatasets(config); } catch (err) { collect(err); }
    try {
      await buildPlansProcessing(plans, { fileFor: (k) => config.fileFor(k), logger: pino({ level: 'silent' }), info }, new PromMetricsRegistry());
    } catch (err) { collect(err); }
    try { await validateOutput(config.output, { file: config.file, info }); } catch (err) { collect(err); }
    try {
      await buildProcessors(config.processors, { file: config.file, key: 'processors', logger: pino({ level: 'silent' }), info });
    } catch (err) { collect(err); }
    if (problems.length > 0) {
      io.stderr.write(`${problems.join('\n')}\n`);
      return 1;
    }
    io.stdout.write('Config OK\n');
    return 0;
  },
};
