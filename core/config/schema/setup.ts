import type { SchemaSection } from './section.js';

/**
 * `procbeat setup`: the index template and the ILM policy it loads (read by core/setup).
 * Empty names mean the defaults: template `procbeat-<version>`, pattern = the template name,
 * policy `procbeat`.
 */
export const setupSchema: SchemaSection = {
  setup: {
    template: {
      enabled: { doc: 'Load the index template.', format: 'bool', default: true },
      name: { doc: 'Template name (default procbeat-<version>); set it together with pattern when output.elasticsearch.index changes.', format: 'text', default: null, nullable: true },
      pattern: { doc: 'Index pattern the template applies to (default: the template name, i.e. the data stream).', format: 'text', default: null, nullable: true },
      priority: { doc: 'Template priority; higher wins over other matching templates.', format: 'non-negative-int', default: 150 },
      overwrite: { doc: 'Replace an existing template of that name.', format: 'bool', default: false },
      fields: { doc: 'The fields.yml the mappings are generated from (default: the one shipped).', format: 'text', default: null, nullable: true },
      settings: { doc: 'Extra template settings: index.* go to the index settings, _source to the mappings.', format: 'mapping', default: {} },
    },
    ilm: {
      enabled: { doc: 'Load the ILM policy and name it in the template.', format: 'bool', default: true },
      policy_name: { doc: 'ILM policy name (default procbeat).', format: 'text', default: null, nullable: true },
      policy_file: { doc: 'A JSON file with the policy body ({"policy": {...}}) instead of the built-in one.', format: 'text', default: null, nullable: true },
      overwrite: { doc: 'Replace an existing policy of that name.', format: 'bool', default: false },
    },
  },
};
