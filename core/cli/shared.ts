import { loadConfig } from '../config/load.js';
import type { ProcbeatConfig } from '../config/types.js';
import type { GlobalFlags } from './flags.js';

/** The config the global flags point at (-c, -E, -e, --path.*); throws ConfigErrors. */
export function configFromFlags(flags: GlobalFlags): ProcbeatConfig {
  return loadConfig({
    file: flags.config,
    overrides: flags.overrides,
    paths: flags.paths,
    logToStderr: flags.logToStderr,
  });
}

let modulesLoaded: Promise<void> | undefined;

/**
 * Imports `modules/index.js`, which registers every dataset. Dynamic, so core compiles and
 * type-checks without the modules; a build without that file simply knows no datasets.
 */
export function loadModules(): Promise<void> {
  modulesLoaded ??= (async () => {
    const url = new URL('../../modules/index.js', import.meta.url);
    try {
      await import(url.href);
    } catch (err) {
      const e = err as { code?: string; url?: string; message?: string };
      const missing = e.code === 'ERR_MODULE_NOT_FOUND' && (e.url === url.href || (e.message ?? '').includes(url.pathname));
      if (!missing) throw err;
    }
  })();
  return modulesLoaded;
}
