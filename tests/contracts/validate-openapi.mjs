// Validates an OpenAPI document with @apidevtools/swagger-parser, a
// validator ates does not write: the structure against the OpenAPI 3.1
// schema, every $ref resolved, operation ids unique, path parameters
// declared. Usage: node validate-openapi.mjs FILE. Exit 0: valid.
import SwaggerParser from '@apidevtools/swagger-parser';

const file = process.argv[2];
if (!file) {
  console.error('usage: node validate-openapi.mjs FILE');
  process.exit(2);
}
try {
  const api = await SwaggerParser.validate(file);
  const operations = Object.values(api.paths).reduce((n, item) => n + Object.keys(item).length, 0);
  console.log(`valid OpenAPI ${api.openapi}: ${Object.keys(api.paths).length} paths, ${operations} operations`);
} catch (error) {
  console.error(`invalid: ${error.message}`);
  process.exit(1);
}
