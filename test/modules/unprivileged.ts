/**
 * Tests that run procbeat's code as uid 65534 need the checkout to be readable by that user.
 * A clone inside a private directory (`mktemp -d` makes it 0700) is not: such a test cannot
 * run there and says so instead of failing on "Cannot find module".
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PROBE = fileURLToPath(import.meta.url);

/** Why uid 65534 cannot read this checkout's compiled code, or undefined when it can. */
export function checkoutUnreadableByNobody(): string | undefined {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', PROBE], { stdio: 'ignore' });
  if (r.error !== undefined) return `cannot run setpriv: ${r.error.message}`;
  return r.status === 0 ? undefined : `uid 65534 cannot read ${PROBE} (a parent directory of the checkout is private)`;
}
