import { describe, expect, it } from 'vitest';
import { Area, Camera, Department, Indicator, Sensor, SENSOR_KINDS, validator } from '@cityops/schemas';
import { createDemoCity, demoCityGeoJson, type DemoCity } from './city.js';
import { pointInRing, signedArea, type Position } from './geo.js';

const city = createDemoCity();

function snapshot(c: DemoCity): string {
  return JSON.stringify({ ...c, indicatorModels: [...c.indicatorModels], waterDistanceKm: [...c.waterDistanceKm] });
}

/** Proper crossing of segments ab and cd (touching at shared endpoints does not count). */
function crosses(a: Position, b: Position, c: Position, d: Position): boolean {
  const orient = (p: Position, q: Position, r: Position): number =>
    Math.sign((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]));
  return orient(a, b, c) * orient(a, b, d) < 0 && orient(c, d, a) * orient(c, d, b) < 0;
}

describe('createDemoCity', () => {
  it('is the same city for the same seed and a different one for another', () => {
    expect(snapshot(createDemoCity())).toBe(snapshot(city));
    expect(snapshot(createDemoCity({ seed: 7 }))).toBe(snapshot(createDemoCity({ seed: 7 })));
    expect(JSON.stringify(createDemoCity({ seed: 7 }).geo.districts)).not.toBe(JSON.stringify(city.geo.districts));
  });

  it('has ≥ 8 districts, ≥ 200 sensors of every kind, ≥ 10 indicators, ≥ 6 cameras and the departments that handle them', () => {
    expect(city.areas.length).toBeGreaterThanOrEqual(8);
    expect(city.sensors.length).toBeGreaterThanOrEqual(200);
    for (const kind of SENSOR_KINDS) expect(city.sensors.filter((s) => s.kind === kind).length, kind).toBeGreaterThanOrEqual(30);
    expect(city.indicators.length).toBeGreaterThanOrEqual(10);
    expect(city.cameras.length).toBeGreaterThanOrEqual(6);
    const names = city.departments.map((d) => d.name_zh).join(' ');
    for (const zh of ['水务局', '交通警察', '生态环境局', '供电公司', '市场监督管理局', '城市管理', '应急管理局'])
      expect(names).toContain(zh);
  });

  it('produces dimension records that pass their contracts, with unique ids', () => {
    const check = <T>(schema: Parameters<typeof validator>[0], records: readonly T[]): void => {
      for (const r of records) expect(validator(schema).errors(r)).toEqual([]);
      expect(new Set(records.map((r) => (r as { id: string }).id)).size).toBe(records.length);
    };
    check(Area, city.areas);
    check(Sensor, city.sensors);
    check(Camera, city.cameras);
    check(Indicator, city.indicators);
    check(Department, city.departments);
    for (const s of city.sensors) expect(city.areas.some((a) => a.id === s.area_id)).toBe(true);
    for (const c of city.cameras) expect(city.areas.some((a) => a.id === c.area_id)).toBe(true);
  });

  it('gives every department a station inside one of its districts and a count of field units', () => {
    const rings = city.areas.map((a) => (JSON.parse(a.geometry) as { coordinates: Position[][] }).coordinates[0]!);
    for (const d of city.departments) {
      expect(d.lon, d.id).toBeTypeOf('number');
      expect(d.lat, d.id).toBeTypeOf('number');
      expect(
        rings.some((ring) => pointInRing(d.lon!, d.lat!, ring)),
        `${d.id} station inside the city`,
      ).toBe(true);
      expect(Number.isInteger(d.units) && d.units! >= 1 && d.units! <= 500, `${d.id} units ${d.units}`).toBe(true);
    }
    // Two stations in one spot would draw as one marker.
    expect(new Set(city.departments.map((d) => `${d.lon},${d.lat}`)).size).toBe(city.departments.length);
  });

  it('draws districts as valid closed, counter-clockwise, simple polygons around 121.46E 31.22N', () => {
    const { districts } = demoCityGeoJson(city);
    expect(districts.features).toHaveLength(city.areas.length);
    for (const f of districts.features) {
      const ring = f.geometry.coordinates[0]!;
      expect(f.geometry.coordinates).toHaveLength(1);
      expect(ring.length).toBeGreaterThanOrEqual(4);
      expect(ring[0]).toEqual(ring[ring.length - 1]);
      expect(signedArea(ring)).toBeGreaterThan(0); // RFC 7946: exterior rings counter-clockwise
      for (let i = 0; i < ring.length - 1; i++) {
        for (let j = i + 2; j < ring.length - 1; j++) {
          if (i === 0 && j === ring.length - 2) continue; // neighbours through the closing point
          expect(crosses(ring[i]!, ring[i + 1]!, ring[j]!, ring[j + 1]!), `${f.id} self-intersects at ${i}/${j}`).toBe(false);
        }
      }
      for (const [lon, lat] of ring) {
        expect(Math.abs(lon - 121.46)).toBeLessThan(0.2);
        expect(Math.abs(lat - 31.22)).toBeLessThan(0.15);
      }
      const area = city.areas.find((a) => a.id === f.id)!;
      expect(JSON.parse(area.geometry)).toEqual(f.geometry);
      expect(pointInRing(area.lon, area.lat, ring)).toBe(true);
    }
  });

  it('places every sensor and camera inside its own district and no other (districts do not overlap)', () => {
    const rings = new Map(city.geo.districts.features.map((f) => [f.id, f.geometry.coordinates[0]!]));
    for (const s of [...city.sensors, ...city.cameras]) {
      const inside = [...rings].filter(([, ring]) => pointInRing(s.lon, s.lat, ring)).map(([id]) => id);
      expect(inside, s.id).toEqual([s.area_id]);
    }
  });

  it('co-locates the speed and occupancy sensor of each traffic station', () => {
    const byId = new Map(city.sensors.map((s) => [s.id, s]));
    expect(city.stations.length).toBe(city.sensors.filter((s) => s.kind === 'traffic_speed').length);
    for (const st of city.stations) {
      const speed = byId.get(st.speedSensorId)!;
      const occ = byId.get(st.occupancySensorId)!;
      expect([speed.kind, occ.kind]).toEqual(['traffic_speed', 'traffic_occupancy']);
      expect([speed.lon, speed.lat]).toEqual([occ.lon, occ.lat]);
    }
  });

  it('ships a basemap: roads of three classes, a river line and the sea', () => {
    const { roads, water } = demoCityGeoJson(city);
    expect(new Set(roads.features.map((f) => f.properties.class))).toEqual(new Set(['expressway', 'arterial', 'local']));
    for (const f of roads.features) expect(f.geometry.coordinates.length).toBeGreaterThanOrEqual(2);
    expect(water.features.map((f) => [f.properties.kind, f.geometry.type])).toEqual([
      ['sea', 'Polygon'],
      ['river', 'LineString'],
    ]);
    const text = JSON.stringify(demoCityGeoJson());
    expect(text.length).toBeLessThan(200_000); // small enough to serve to the wall display as is
  });

  it('keeps indicator risk lines ≥ 4 standard deviations from normal, so only shocks cross them', () => {
    for (const ind of city.indicators) {
      const m = city.indicatorModels.get(ind.id)!;
      expect(ind.risk_upper - m.base, ind.id).toBeGreaterThanOrEqual(4 * m.sd);
      expect(m.base - ind.risk_lower, ind.id).toBeGreaterThanOrEqual(4 * m.sd);
    }
  });
});
