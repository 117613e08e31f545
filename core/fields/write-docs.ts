// Regenerates docs/fields.md from fields.yml: `node dist/core/fields/write-docs.js [out.md]`.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultFieldsPath, loadFields } from './loader.js';
import { fieldsMarkdown } from './markdown.js';

const fieldsPath = defaultFieldsPath();
const target = process.argv[2] ?? join(dirname(fieldsPath), 'docs', 'fields.md');
writeFileSync(target, fieldsMarkdown(loadFields(fieldsPath)));
process.stdout.write(`wrote ${target}\n`);
