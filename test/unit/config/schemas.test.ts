/**
 * Our JSON schemas are valid against their meta-schemas. The product compiles them with
 * `validateSchema: false` (the meta-schema check costs ~60 ms on every `run` and `sync` of a repo
 * with a config), so this is where a broken schema is caught.
 */
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { USER_CONFIG_SCHEMA } from '../../../src/config/user-config.js';

async function schemaFile(name: string): Promise<object> {
  return JSON.parse(await readFile(new URL(`../../../../schemas/${name}`, import.meta.url), 'utf8')) as object;
}

test('.mcp-secrets.yaml schema is a valid JSON Schema 2020-12 document, in strict mode', async (t) => {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  t.true(ajv.validateSchema(await schemaFile('mcp-secrets-config.schema.json')) as boolean, ajv.errorsText());
});

test('the user config schema is a valid JSON Schema draft-07 document, in strict mode', (t) => {
  const ajv = new Ajv({ allErrors: true, strict: true });
  t.true(ajv.validateSchema(USER_CONFIG_SCHEMA) as boolean, ajv.errorsText());
});

test('console-secrets.json schema is a valid JSON Schema document', async (t) => {
  const schema = (await schemaFile('console-secrets.schema.json')) as { $schema?: string };
  const ajv = schema.$schema?.includes('2020-12') ? new Ajv2020({ strict: true }) : new Ajv({ strict: true });
  t.true(ajv.validateSchema(schema) as boolean, ajv.errorsText());
});

test('a schema the meta-schema would refuse is still refused when compiled without it, in strict mode', (t) => {
  const ajv = new Ajv({ allErrors: true, strict: true, validateSchema: false });
  t.throws(() => ajv.compile({ type: 'object', propertiez: {} }), { message: /unknown keyword/ });
});
