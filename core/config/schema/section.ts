/**
 * One convict schema fragment: top-level keys mapped to their schema (`doc`, `format`,
 * `default`, optional `nullable`), nested as the settings are. Each fragment lives in its own
 * file in this folder and is listed in `index.ts`; values are read back into the typed config
 * in `../load.ts` (or, for sections owned elsewhere, from `ProcbeatConfig.settings`).
 */
export interface SchemaSection {
  [key: string]: SchemaLeaf | SchemaSection;
}

export interface SchemaLeaf {
  doc: string;
  /** A format name registered in `formats.ts`, or a list of allowed values. */
  format: string | readonly string[];
  default: unknown;
  nullable?: boolean;
  /** Masked by `export config` and never logged. */
  sensitive?: boolean;
}

export function isSchemaLeaf(node: SchemaLeaf | SchemaSection): node is SchemaLeaf {
  return Object.hasOwn(node, 'default');
}
