/**
 * Document ids for events that enter the queue without one. The Elasticsearch output sends
 * `meta._id` with every `create`, so an event re-sent after a timeout, an output restart or a
 * crash (queue.disk keeps the id with the event) is answered 409 and counted as a duplicate
 * instead of being indexed twice. A random prefix per pipeline keeps ids of different runs and
 * hosts apart; a counter makes each one cheap (no crypto per event).
 */
import { randomBytes } from 'node:crypto';

export function makeEventIds(): () => string {
  const prefix = randomBytes(12).toString('base64url');
  let n = 0;
  return () => prefix + (n++).toString(36);
}
