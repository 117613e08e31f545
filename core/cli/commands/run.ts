import type { Command } from '../command.js';
import { runBeat } from '../beat.js';
import { configFromFlags, loadModules } from '../shared.js';

export const runCommand: Command = {
  path: ['run'],
  summary: 'Run procbeat (the default command)',
  description:
    'Run procbeat in the foreground: load the configuration, start the configured datasets and ship ' +
    'their events through the queue and processors to the output. SIGINT or SIGTERM stops the ' +
    'datasets, waits up to shutdown_timeout for queued events to reach the output, and exits 0; ' +
    'a second signal exits at once.',
  async run({ flags, io }) {
    const config = configFromFlags(flags);
    await loadModules();
    const code = await runBeat(config, io);
    // Everything is closed by now; if some library still holds the event loop open, do not
    // hang after a clean shutdown. The timer is unref'd: it never delays a normal exit.
    setTimeout(() => {
      io.stderr.write('procbeat: exiting although handles are still open\n');
      process.exit(code);
    }, 3000).unref();
    return code;
  },
};
