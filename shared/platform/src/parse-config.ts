import { z } from 'zod';

/** Thrown at start-up when the environment is not valid; the message names every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Development is NODE_ENV=development, which `make dev` sets (scripts/dev.js). There alone a
 * variable that carries credentials (the broker's and the database's URL) falls back, when unset,
 * to the local servers' stock users; anywhere else an unset one stops the service with a message
 * naming it, so that a deployment that lost its DATABASE_URL never runs on localhost as the
 * superuser (docs/configuration.md, docs/decisions/0028-generated-secrets-and-development-fallbacks.md).
 */
const developmentFallbacks = z.registry<{ fallback: string }>();

/**
 * A string variable, checked by `check`, that must be set, except in development, where `fallback`
 * stands in for it.
 */
export function requiredOutsideDevelopment(fallback: string, check: (variable: z.ZodString) => z.ZodString): z.ZodString {
  const unset = `not set, and required: only under NODE_ENV=development does it default to ${fallback}`;
  // Registered last: every refinement makes a new schema.
  return check(z.string({ error: (issue) => (issue.input === undefined ? unset : undefined) })).register(developmentFallbacks, { fallback });
}

/** `env` with the development fallbacks of `schema`'s variables filled in where unset. */
function withDevelopmentFallbacks(schema: z.ZodType, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env.NODE_ENV !== 'development' || !(schema instanceof z.ZodObject)) return env;
  const fallbacks = Object.entries(schema.shape as Record<string, z.ZodType>).flatMap(([name, variable]) => {
    const fallback = developmentFallbacks.get(variable)?.fallback;
    return fallback !== undefined && env[name] === undefined ? [[name, fallback]] : [];
  });
  return { ...env, ...Object.fromEntries(fallbacks) };
}

/** Parses `env` with `schema` once; on failure names each variable and what is wrong with it. */
export function parseConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(withDevelopmentFallbacks(schema, env));
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(environment)'}: ${issue.message}`);
  throw new ConfigError(`invalid configuration:\n${problems.join('\n')}`);
}

/**
 * A bearer token from the environment: at least 16 visible ASCII characters (what an HTTP header
 * carries as it is; Node trims spaces off a header's ends, so a token with them could never
 * match), and not a placeholder left from an example file (`<…>`).
 */
export const bearerToken = () =>
  z
    .string()
    .regex(/^[\x21-\x7e]{16,}$/, 'must be at least 16 visible ASCII characters, with no spaces')
    .refine((token) => !/^<.*>$/.test(token), 'is still the placeholder from the example: put in a token of your own');

/** An http(s) URL from the environment, without a trailing slash (paths are appended to it). */
export const httpUrl = (example: string) =>
  z
    .string()
    .refine((value) => {
      try {
        return /^https?:$/.test(new URL(value).protocol);
      } catch {
        return false;
      }
    }, `must be an http(s) URL like ${example}`)
    .transform((value) => value.replace(/\/+$/, ''));

/**
 * The HTTP APIs of the four services and the card gateway, for a process that reads them (the web
 * front, the observer): the variables, with the local defaults `make dev` runs them on.
 */
export const SERVICE_URLS = {
  ORDER_URL: httpUrl('http://order:3000').default('http://127.0.0.1:3000'),
  PAYMENT_URL: httpUrl('http://payment:3001').default('http://127.0.0.1:3001'),
  INVENTORY_URL: httpUrl('http://inventory:3002').default('http://127.0.0.1:3002'),
  NOTIFICATION_URL: httpUrl('http://notification:3003').default('http://127.0.0.1:3003'),
  GATEWAY_URL: httpUrl('http://gateway:3004').default('http://127.0.0.1:3004'),
};

/** Those URLs by the name each process calls them. */
export const serviceUrlsOf = (config: { [K in keyof typeof SERVICE_URLS]: string }) => ({
  order: config.ORDER_URL,
  payment: config.PAYMENT_URL,
  inventory: config.INVENTORY_URL,
  notification: config.NOTIFICATION_URL,
  gateway: config.GATEWAY_URL,
});
