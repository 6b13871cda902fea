/**
 * docs/api.md is the contract in prose; the route table is what the server
 * does. These tests fail when the two drift, and when any Markdown file of the
 * repository links to something outside it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { routes, type RouteDefinition } from '../../functions/routes.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOC = readFileSync(resolve(ROOT, 'docs/api.md'), 'utf8');
const SESSION_CODES = ['session_not_found', 'session_user_mismatch', 'session_binding_mismatch'];

const key = (method: string, path: string) => `${method} ${path}`;

/** `### \`METHOD /path\`` headings, each with its text up to the next heading of level 2 or 3. */
function routeSections(doc: string): Map<string, string> {
  const sections = new Map<string, string>();
  const parts = doc.split(/^(?=#{2,3} )/m);
  for (const part of parts) {
    const heading = /^### `(GET|POST|PUT|DELETE) (\S+)`\s*$/m.exec(part.split('\n')[0]!);
    if (heading) sections.set(key(heading[1]!, heading[2]!), part);
  }
  return sections;
}

const sections = routeSections(DOC);
const table = new Map(routes.map((r): [string, RouteDefinition] => [key(r.method, r.path), r]));

describe('docs/api.md and the route table', () => {
  it('has one section per route, and no section for a route that does not exist', () => {
    const documented = [...sections.keys()].sort();
    const served = [...table.keys()].sort();
    expect(documented.filter((k) => !table.has(k)), 'documented routes the server does not have').toEqual([]);
    expect(served.filter((k) => !sections.has(k)), 'routes docs/api.md does not describe').toEqual([]);
  });

  it("states each route's success status and every error code it can answer", () => {
    for (const [k, route] of table) {
      const section = sections.get(k);
      if (!section) continue; // reported above
      expect(/\*\*Answer\*\*: (\d{3})/.exec(section)?.[1], `${k}: the status of its **Answer**`).toBe(String(route.success.status));
      const covered = (code: string) => section.includes(`\`${code}\``) || (SESSION_CODES.includes(code) && section.includes('the session errors'));
      const missing = (route.errors ?? []).map((e) => e.code).filter((code) => !covered(code));
      expect(missing, `${k}: error codes missing from its section`).toEqual([]);
    }
  });

  it('lists every error code of the route table in its table of error codes', () => {
    const listed = new Set([...DOC.matchAll(/^\| `(\w+)` \| \d{3} \|/gm)].map((m) => m[1]!));
    const codes = new Set(routes.flatMap((r) => (r.errors ?? []).map((e) => e.code)));
    for (const code of ['system_invalid_input', 'unauthorized', 'service_unavailable']) codes.add(code);
    expect([...codes].filter((c) => !listed.has(c)).sort()).toEqual([]);
  });

  it('mentions only paths (and method + path pairs) that exist', () => {
    const paths = new Set(routes.map((r) => r.path));
    const mentions = [...DOC.matchAll(/`(?:(GET|POST|PUT|DELETE) )?(\/(?:cis|oidc)\/[^`\s]*)`/g)].filter(([, , path]) => !/\.\.\.|…/.test(path!));
    expect(mentions.length).toBeGreaterThan(routes.length);
    const unknown = mentions
      .filter(([, method, path]) => (method ? !table.has(key(method, path!)) : !paths.has(path!)))
      .map(([mention]) => mention);
    expect(unknown).toEqual([]);
  });
});

describe('the repository is self-contained', () => {
  const markdown = [resolve(ROOT, 'README.md'), ...readdirSync(resolve(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => resolve(ROOT, 'docs', f))];

  it('no Markdown file links outside the repository, and every relative link resolves', () => {
    const bad: string[] = [];
    for (const file of markdown) {
      for (const [, target] of readFileSync(file, 'utf8').matchAll(/\]\(([^)\s]+)\)/g)) {
        if (target!.startsWith('#')) continue;
        const path = target!.split('#')[0]!;
        const absolute = resolve(dirname(file), path);
        const inside = !/^[a-z][a-z0-9+.-]*:/i.test(path) && !path.startsWith('/') && !relative(ROOT, absolute).startsWith('..');
        if (!inside || !existsSync(absolute)) bad.push(`${relative(ROOT, file)}: ${target}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('links docs/api.md from the README', () => {
    expect(readFileSync(resolve(ROOT, 'README.md'), 'utf8')).toContain('](docs/api.md)');
  });
});
