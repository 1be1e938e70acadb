/**
 * The page's entry: nothing but the start of the command map (map/early.ts: MapLibre, its style,
 * worker and canvas), then the app (app.ts: Vue, the router, element-plus), loaded side by side — so
 * that the map does not wait for the app's code to load and run before it starts (issue 11).
 */
import { startEarlyMap } from './map/early';

if (window.location.pathname === '/') void startEarlyMap();
void import('./app');
