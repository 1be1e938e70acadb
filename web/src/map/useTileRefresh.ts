import { onBeforeUnmount, onMounted } from 'vue';
import { useMap } from './injection';

/**
 * Reloads the tiles of a source every `intervalMs`, so that incidents and responders on a wall
 * screen stay current without a page reload. (The server caches tiles for a minute; a push
 * channel can replace this polling later.)
 */
export function useTileRefresh(sourceId: string, intervalMs = 60_000): void {
  const mapRef = useMap();
  let timer: number | undefined;
  onMounted(() => {
    timer = window.setInterval(() => {
      const map = mapRef.value;
      if (map?.style && map.getSource(sourceId) && !document.hidden) map.refreshTiles(sourceId);
    }, intervalMs);
  });
  onBeforeUnmount(() => window.clearInterval(timer));
}
