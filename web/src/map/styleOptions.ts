import type { StyleSetterOptions } from 'maplibre-gl';

/**
 * Options for every change the app makes to the map's style (addSource, addLayer, setFilter,
 * setPaintProperty, setLayoutProperty). MapLibre checks each change against the style spec by
 * serialising the whole style first: adding the command map's ~45 layers one by one cost more
 * main-thread time than drawing them (issue 11), and a live flash repeated it every frame. The
 * layers are the app's own code: they are checked in development builds, and the command map's
 * whole style, as a session left it, by the browser tests (tests/e2e/command-centre.test.ts).
 */
export const STYLE_CHANGE: StyleSetterOptions | undefined = import.meta.env.DEV ? undefined : { validate: false };
