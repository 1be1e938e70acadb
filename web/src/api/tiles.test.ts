import { describe, expect, it } from 'vitest';
import { sameOriginTileUrl } from './tiles';

describe('sameOriginTileUrl', () => {
  const origin = 'http://192.168.1.20:3000';
  it('reads tiles from the page origin whatever origin the TileJSON names', () => {
    expect(sameOriginTileUrl('http://localhost:3000/tiles/grids/15/27440/13389', origin)).toBe(`${origin}/tiles/grids/15/27440/13389`);
    expect(sameOriginTileUrl('https://wangge.example.org/tiles/roads/9/1/2?v=3', origin)).toBe(`${origin}/tiles/roads/9/1/2?v=3`);
  });
  it('leaves same-origin URLs and anything that is not a tile as it is', () => {
    expect(sameOriginTileUrl(`${origin}/tiles/grids/1/0/0`, origin)).toBe(`${origin}/tiles/grids/1/0/0`);
    expect(sameOriginTileUrl('http://localhost:3000/tiles.json', origin)).toBe('http://localhost:3000/tiles.json');
    expect(sameOriginTileUrl('http://localhost:3000/api/collections', origin)).toBe('http://localhost:3000/api/collections');
  });
});
