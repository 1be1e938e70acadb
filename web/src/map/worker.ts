import { setWorkerUrl } from 'maplibre-gl';
// Vite bundles MapLibre's module worker as a same-origin file: no blob: or CDN worker, which the
// strict CSP (script-src 'self') and offline intranets both need.
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url';

setWorkerUrl(workerUrl);
