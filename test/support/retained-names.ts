/** What a template retains, checked the way a second deploy would meet it. */

type Resource = { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string };

/**
 * `<logical id>.<property>` of every retained resource (kept on deletion or
 * rollback) named by the template rather than by CloudFormation, unless the
 * name includes the generated name of a resource deleted with the stack: a
 * fixed name that survives would fail the next create with "already exists".
 */
export function retainedFixedNames(all: Record<string, Resource>): string[] {
  const retained = (r: Resource) => ['Retain', 'RetainExceptOnCreate', 'Snapshot'].includes(r.DeletionPolicy ?? 'Delete');
  const refs = (value: unknown): string[] =>
    value && typeof value === 'object'
      ? Object.entries(value).flatMap(([k, v]) => (k === 'Ref' && typeof v === 'string' ? [v] : refs(v)))
      : [];
  const generatedAndDeleted = (id: string) => {
    const r = all[id];
    return r !== undefined && !retained(r) && !Object.keys(r.Properties ?? {}).some((p) => /Name$/.test(p));
  };
  return Object.entries(all)
    .filter(([, r]) => retained(r))
    .flatMap(([id, r]) => Object.entries(r.Properties ?? {}).filter(([p]) => /Name$/.test(p) && p !== 'DisplayName').map(([p, v]) => [`${id}.${p}`, v] as const))
    .filter(([, value]) => !refs(value).some(generatedAndDeleted))
    .map(([name]) => name);
}
