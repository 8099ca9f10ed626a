/**
 * A service's domain folder holds its rules, not its infrastructure: no database driver, broker
 * client, web framework, mailer or telemetry, and from troupe's own packages only entries that
 * load none of those. The domain owns its ports: it declares the interfaces it needs (a store, a
 * gateway, a mailer) and imports nothing of its service outside domain/; db/ and adapters/
 * implement those interfaces, and main.ts hands the implementations in.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');

/** Infrastructure, and the troupe entries that load it (the indexes of messaging, platform, service, telemetry). */
const FORBIDDEN = [/^pg(\/|$)/, /^amqplib(\/|$)/, /^express(\/|$)/, /^nodemailer(\/|$)/, /^@opentelemetry\//, /^@troupe\/(messaging|platform|service|telemetry)$/];

/** Every module specifier a file names: imports (type-only too), re-exports, require() and import(). */
function specifiersOf(source: string): string[] {
  const patterns = [/\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\b(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)/g];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1] as string));
}

/** The specifiers of statements that load something at run time (type-only ones are erased). */
function runtimeSpecifiersOf(source: string): string[] {
  return specifiersOf(source.replace(/\b(?:import|export)\s+type\s[^;]*;/g, ''));
}

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });

const services = readdirSync(join(root, 'services'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);
/** The domain folder a file is in (every file checked is in one). */
const domainOf = (file: string): string => file.slice(0, file.lastIndexOf(`${sep}domain${sep}`) + `${sep}domain`.length);

/** The relative imports of `file` (type-only ones too) that leave its domain folder: into db/, adapters/, http/, … */
function importsOutsideDomain(file: string, source: string): string[] {
  const domain = domainOf(file);
  return specifiersOf(source).filter((specifier) => specifier.startsWith('.') && relative(domain, resolve(dirname(file), specifier)).startsWith('..'));
}

const domainFiles = services.flatMap((service) => {
  try {
    return sourceFiles(join(root, 'services', service, 'src', 'domain'));
  } catch {
    return []; // a service without a domain folder (the web front)
  }
});

describe('domain folders', () => {
  it('exist, with files to check', () => {
    expect(domainFiles.length).toBeGreaterThan(5);
  });

  it.each(domainFiles.map((file) => [file.slice(root.length + 1), file]))('%s imports no infrastructure', (_name, file) => {
    const imported = specifiersOf(readFileSync(file, 'utf8'));
    expect(imported.filter((specifier) => FORBIDDEN.some((pattern) => pattern.test(specifier)))).toEqual([]);
  });

  it.each(domainFiles.map((file) => [file.slice(root.length + 1), file]))('%s imports nothing of its service outside domain/ (db/ and adapters/ implement its ports)', (_name, file) => {
    expect(importsOutsideDomain(file, readFileSync(file, 'utf8'))).toEqual([]);
  });

  it('when a domain file imports from ../db or ../adapters, then the check names the import', () => {
    const file = join(root, 'services', 'order', 'src', 'domain', 'place-order.ts');
    const source = "import { insertOrder } from '../db/orders';\nimport type { Mailer } from '../adapters/smtp-mailer';\nimport type { LineItem } from './order-store';\n";
    expect(importsOutsideDomain(file, source)).toEqual(['../db/orders', '../adapters/smtp-mailer']);
  });

  it('the messaging entry they use, @troupe/messaging/domain, loads no package at run time', () => {
    const seen = new Set<string>();
    const packages: string[] = [];
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const specifier of runtimeSpecifiersOf(readFileSync(file, 'utf8'))) {
        if (specifier.startsWith('.')) visit(`${resolve(dirname(file), specifier)}.ts`);
        else if (!specifier.startsWith('node:')) packages.push(specifier);
      }
    };
    visit(join(root, 'shared', 'messaging', 'src', 'domain.ts'));
    expect(seen.size).toBeGreaterThan(1);
    expect(packages).toEqual([]);
  });
});
