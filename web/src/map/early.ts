import type { Map as MaplibreMap } from 'maplibre-gl';

/**
 * The command map's early start (issue 11): main.ts starts it when the page opens on the command
 * view, while the session is checked and the app mounts, so that MapLibre's style, worker and
 * canvas are ready when the view is. It waits, hidden, in an element of its own; the command view's
 * MapView takes it (moves the element in); any other first view discards it. No MapLibre import
 * here (the router uses this file): `start` loads it.
 */
interface EarlyMap {
  map: MaplibreMap;
  element: HTMLDivElement;
  /** Its style has loaded ('load' fired before it was taken). */
  loaded(): boolean;
}

let early: EarlyMap | null = null;
let discarded = false;

export async function startEarlyMap(): Promise<void> {
  const { createMap } = await import('./createMap');
  if (discarded) return;
  const element = document.createElement('div');
  // Laid out where the map will be, unseen (inline: the app's style sheets may not have loaded yet).
  element.style.cssText = 'position:fixed;top:var(--wg-header-height,64px);right:0;bottom:0;left:0;visibility:hidden;pointer-events:none;z-index:-1';
  element.setAttribute('aria-hidden', 'true');
  document.body.appendChild(element);
  const map = createMap(element);
  let loaded = false;
  map.once('load', () => {
    loaded = true;
  });
  early = { map, element, loaded: () => loaded };
}

/** The early map and its element, once (MapView of the command view); null when there is none. */
export function takeEarlyMap(): EarlyMap | null {
  const taken = early;
  early = null;
  discarded = true;
  if (taken) {
    taken.element.style.cssText = 'position:absolute;inset:0';
    taken.element.removeAttribute('aria-hidden');
  }
  return taken;
}

/** The first view is not the command view: the early map is not needed. */
export function discardEarlyMap(): void {
  discarded = true;
  if (!early) return;
  early.map.remove();
  early.element.remove();
  early = null;
}
