// fields.yml, read once for the index template, the docs and the tests.
export { loadFields, parseFields, defaultFieldsPath, FieldsFileError } from './loader.js';
export { FIELD_TYPES, valueMatchesType, type FieldDefinition, type FieldType } from './types.js';
export { checkDocument, type FieldProblem } from './check.js';
export { fieldsMarkdown } from './markdown.js';
