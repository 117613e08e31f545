import { ConfigError, ConfigErrors } from '../config/errors.js';

/** `setup.template.*` and `setup.ilm.*` with defaults resolved. */
export interface SetupSettings {
  template: {
    enabled: boolean;
    name: string;
    patterns: string[];
    priority: number;
    overwrite: boolean;
    /** undefined: the fields.yml procbeat ships. */
    fieldsPath?: string;
    settings: Record<string, unknown>;
  };
  ilm: {
    enabled: boolean;
    policyName: string;
    policyFile?: string;
    overwrite: boolean;
  };
}

export interface SetupSettingsContext {
  beatName: string;
  version: string;
  /** `output.elasticsearch.index` as configured, if it was. */
  outputIndex?: string;
  file?: string;
}

function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

/**
 * Reads the validated `setup` settings (ProcbeatConfig.settings.setup; the convict schema in
 * core/config/schema/setup.ts checked their types). As in beats, a changed
 * `output.elasticsearch.index` needs its own template name and pattern.
 */
export function readSetupSettings(setup: unknown, ctx: SetupSettingsContext): SetupSettings {
  const s = rec(setup);
  const t = rec(s['template']);
  const i = rec(s['ilm']);
  const defaultName = `${ctx.beatName}-${ctx.version}`;
  const name = text(t['name']);
  const pattern = text(t['pattern']);
  const templateEnabled = t['enabled'] !== false;

  if (templateEnabled && ctx.outputIndex !== undefined && ctx.outputIndex !== defaultName && (name === undefined || pattern === undefined)) {
    throw new ConfigErrors([
      new ConfigError(
        ctx.file,
        name === undefined ? 'setup.template.name' : 'setup.template.pattern',
        `setup.template.name and setup.template.pattern must both be set when output.elasticsearch.index is changed (it is '${ctx.outputIndex}')`,
      ),
    ]);
  }

  const templateName = name ?? defaultName;
  const out: SetupSettings = {
    template: {
      enabled: templateEnabled,
      name: templateName,
      patterns: [pattern ?? templateName],
      priority: typeof t['priority'] === 'number' ? t['priority'] : 150,
      overwrite: t['overwrite'] === true,
      settings: rec(t['settings']),
    },
    ilm: {
      enabled: i['enabled'] !== false,
      policyName: text(i['policy_name']) ?? ctx.beatName,
      overwrite: i['overwrite'] === true,
    },
  };
  const fieldsPath = text(t['fields']);
  if (fieldsPath !== undefined) out.template.fieldsPath = fieldsPath;
  const policyFile = text(i['policy_file']);
  if (policyFile !== undefined) out.ilm.policyFile = policyFile;
  return out;
}
