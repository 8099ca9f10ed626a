import { z } from 'zod';

type JsonSchema = Record<string, unknown>;

/** A zod schema as JSON Schema, without `$schema` (the documents that embed it say the dialect). */
export function jsonSchema(schema: z.ZodType, target: 'draft-7' | 'draft-2020-12', io: 'input' | 'output' = 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target, io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}
