/** Step ids: explicit, or a slug of the name. Underscores keep them readable in CEL (`steps.disk_use`). */
export function slugify(name: string): string {
  const slug = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 64)
    .replace(/_+$/, '');
  // A name such as `constructor` would collide with what every object has (schema.ts isBuiltinName).
  return !slug ? 'step' : slug in Object.prototype ? `${slug}_step` : slug;
}
