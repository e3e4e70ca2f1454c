import type { ResponseFormat } from 'loopwork';

/**
 * Whether OpenAI's strict structured outputs can take the schema as it is: every object lists
 * all its properties as required and admits no others (an open `additionalProperties` schema,
 * a record, is refused by strict mode). Otherwise the schema is sent with `strict: false`, as
 * guidance; loopwork validates the answer either way.
 */
function strictable(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.every(strictable);
  if (typeof schema !== 'object' || schema === null) return true;
  const node = schema as Record<string, unknown>;
  if (node.type === 'object') {
    const keys = Object.keys((node.properties as object | undefined) ?? {});
    const required = new Set(Array.isArray(node.required) ? node.required : []);
    if (!keys.every((key) => required.has(key))) return false;
    if (node.additionalProperties !== undefined && node.additionalProperties !== false)
      return false;
  }
  return Object.values(node).every(strictable);
}

/** Closes every object (`additionalProperties: false`), as strict mode requires. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (typeof schema !== 'object' || schema === null) return schema;
  const node = Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [
      key,
      key === 'properties' || key === '$defs' ? closedMap(value) : closed(value),
    ]),
  );
  return node.type === 'object' ? { ...node, additionalProperties: false } : node;
}

function closedMap(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, closed(item)]));
}

/** The `json_schema` format both APIs take: strict when the schema allows it. */
export function jsonSchemaFormat(format: ResponseFormat) {
  const strict = strictable(format.schema);
  return {
    name: format.name,
    ...(format.description === undefined ? {} : { description: format.description }),
    schema: (strict ? closed(format.schema) : format.schema) as Record<string, unknown>,
    strict,
  };
}
