import { readFileSync } from 'node:fs';
import type { estypes } from '@elastic/elasticsearch';

/** The body of `PUT _ilm/policy/<name>`, typed with the client's request type. */
export type IlmPolicyBody = Required<Pick<estypes.IlmPutLifecycleRequest, 'policy'>>;

/**
 * beats' default policy: everything stays hot and the data stream rolls over to a new backing
 * index when a primary shard reaches 50 GB or the index is 30 days old. Nothing is deleted.
 */
export function defaultIlmPolicy(beatName: string, version: string): IlmPolicyBody {
  return {
    policy: {
      _meta: { managed_by: beatName, version },
      phases: {
        hot: {
          min_age: '0ms',
          actions: { rollover: { max_primary_shard_size: '50gb', max_age: '30d' } },
        },
      },
    },
  };
}

/** `setup.ilm.policy_file`: a JSON file holding `{"policy": {...}}`. */
export function readIlmPolicyFile(path: string): IlmPolicyBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`setup.ilm.policy_file: cannot read '${path}': ${e instanceof Error ? e.message : String(e)}`);
  }
  const policy = (parsed as { policy?: unknown } | null)?.policy;
  if (typeof policy !== 'object' || policy === null || typeof (policy as { phases?: unknown }).phases !== 'object') {
    throw new Error(`setup.ilm.policy_file: '${path}' must hold {"policy": {"phases": {...}}}`);
  }
  return { policy: policy as estypes.IlmPolicy };
}
