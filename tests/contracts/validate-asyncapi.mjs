// Validates an AsyncAPI document with @asyncapi/parser, a parser ates does
// not write: the structure against the AsyncAPI 3.0 schema, every $ref,
// and every payload schema. Then compiles each payload schema on its own
// with Ajv (draft-07, the dialect the document declares for them).
// Usage: node validate-asyncapi.mjs FILE. Exit 0: valid, nothing but
// hints reported.
import fs from 'node:fs';
import { Parser } from '@asyncapi/parser';
import Ajv from 'ajv';

const file = process.argv[2];
if (!file) {
  console.error('usage: node validate-asyncapi.mjs FILE');
  process.exit(2);
}
const text = fs.readFileSync(file, 'utf8');
const { document, diagnostics } = await new Parser().parse(text);
// Severity 0 is an error, 1 a warning; hints and information pass.
const serious = diagnostics.filter((d) => d.severity <= 1);
for (const d of serious) console.error(`${d.severity === 0 ? 'error' : 'warning'} at ${d.path.join('.')}: ${d.message}`);
if (!document || serious.length > 0) process.exit(1);

// x- annotations (x-unit, x-msgpack-type …) are ours: Ajv is told of them
// rather than made lenient about everything.
const ajv = new Ajv({ strict: true, allErrors: true });
for (const keyword of ['x-unit', 'x-msgpack-type', 'x-min-bytes', 'x-max-bytes', 'x-stream', 'x-kind']) {
  ajv.addKeyword(keyword);
}
ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
ajv.addFormat('email', /@/);
const raw = JSON.parse(text);
let compiled = 0;
for (const [id, message] of Object.entries(raw.components.messages)) {
  try {
    ajv.compile(message.payload);
    compiled += 1;
  } catch (error) {
    console.error(`${id}: ${error.message}`);
    process.exit(1);
  }
}
console.log(`valid AsyncAPI ${document.version()}: ${document.channels().length} channels, ` +
            `${document.messages().length} messages, ${compiled} payload schemas compiled`);
