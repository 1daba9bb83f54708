/** The .wasm modules fetched from `fkb serve` (/wasm/<name>.wasm) and loaded; each one's status for the page. */
import { type LoadedModuleName, MODULE_NAMES, loadModules, setModuleBytesProvider } from '../wasm/modules.ts';
import { MT_MODULE_NAMES, type MtModuleName, loadMtModule, setMtBytesProvider } from '../threads/mt-modules.ts';

export async function loadServedModules(): Promise<Record<string, string>> {
  const bytes = new Map<LoadedModuleName, Uint8Array<ArrayBuffer>>();
  for (const name of MODULE_NAMES) {
    const r = await fetch(`/wasm/${name}.wasm`);
    if (r.ok) bytes.set(name, new Uint8Array(await r.arrayBuffer()));
  }
  setModuleBytesProvider((name) => bytes.get(name) ?? { missing: `/wasm/${name}.wasm could not be fetched` });
  const status: Record<string, string> = {};
  for (const [name, s] of loadModules()) status[name] = s.kernel ? 'used' : `not used: ${s.reason}`;
  // The shared-memory twins for threads inside a layer (usable when the page is cross-origin isolated).
  const mt = new Map<MtModuleName, Uint8Array<ArrayBuffer>>();
  for (const name of MT_MODULE_NAMES) {
    const r = await fetch(`/wasm/${name}.wasm`);
    if (r.ok) mt.set(name, new Uint8Array(await r.arrayBuffer()));
  }
  setMtBytesProvider((name) => mt.get(name) ?? { missing: `/wasm/${name}.wasm could not be fetched` });
  for (const name of MT_MODULE_NAMES) {
    const s = loadMtModule(name);
    status[name] = s.module ? 'used' : `not used: ${s.reason}`;
  }
  return status;
}
