/**
 * import() of a file that is not part of maint (a JavaScript config file). bin/maint.js hands
 * main its own: on Node 20, code that V8 deserialized from the bundle's code cache has lost what
 * import() needs to find Node's loader, so the launcher, an ordinary module, does the import.
 */
export type Importer = (specifier: string) => Promise<unknown>;

let importer: Importer = (specifier) => import(specifier);

export function setImporter(fn: Importer): void {
  importer = fn;
}

export const importModule = (specifier: string): Promise<unknown> => importer(specifier);
