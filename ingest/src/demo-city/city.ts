import { SENSOR_KIND_INFO, type Area, type Camera, type Department, type Indicator, type Sensor, type SensorKind } from '@cityops/schemas';
import {
  centroid,
  nearestOnPolyline,
  pointInRing,
  toLonLat,
  type Feature,
  type FeatureCollection,
  type LineStringGeometry,
  type LocalFrame,
  type PolygonGeometry,
  type Position,
} from './geo.js';
import { createRng, type Rng } from './prng.js';

/*
 * Haibin (海滨市), a fictional coastal city near 121.46°E, 31.22°N. Its districts, roads, river and
 * coast are generated from a seed — no map data is downloaded or shipped — so the dashboard can
 * draw an offline basemap and every run of the demo is the same city.
 */

export const DEMO_CITY_DEFAULT_SEED = 20_250_101;

export interface DemoCityOptions {
  /** One seed, one city: shapes, sensor placement and (in the simulator) the noise. Default 20250101. */
  seed?: number;
}

export interface DistrictProperties {
  id: string;
  name_zh: string;
  name_en: string;
  population: number;
}

export interface RoadProperties {
  id: string;
  name_zh: string;
  name_en: string;
  /** Drawing order and width on the basemap. */
  class: 'expressway' | 'arterial' | 'local';
}

export interface WaterProperties {
  id: string;
  name_zh: string;
  name_en: string;
  kind: 'river' | 'sea';
}

/** Everything the dashboard needs to draw the basemap offline. */
export interface DemoCityGeoJson {
  districts: FeatureCollection<PolygonGeometry, DistrictProperties>;
  roads: FeatureCollection<LineStringGeometry, RoadProperties>;
  water: FeatureCollection<PolygonGeometry | LineStringGeometry, WaterProperties>;
}

/** A traffic detector station: one speed and one occupancy sensor at the same spot. */
export interface TrafficStation {
  id: string;
  area_id: string;
  speedSensorId: string;
  occupancySensorId: string;
}

/** How the simulator moves an indicator: a mean-reverting walk around `base`. */
export interface IndicatorModel {
  base: number;
  /** Stationary standard deviation of the normal fluctuation, in the indicator's unit. */
  sd: number;
  decimals: number;
  /** Which way a price shock pushes it: +1 up through risk_upper, -1 down through risk_lower. */
  shockDirection: 1 | -1;
}

export interface DemoCity {
  readonly id: string;
  readonly name_zh: string;
  readonly name_en: string;
  readonly seed: number;
  readonly center: { lon: number; lat: number };
  /** The districts; `Area.geometry` is the district polygon as GeoJSON text. */
  readonly areas: readonly Area[];
  readonly sensors: readonly Sensor[];
  readonly cameras: readonly Camera[];
  readonly indicators: readonly Indicator[];
  readonly departments: readonly Department[];
  readonly stations: readonly TrafficStation[];
  readonly indicatorModels: ReadonlyMap<string, IndicatorModel>;
  /** Distance from each water-level sensor to the river or the sea, in km (tides reach those near it). */
  readonly waterDistanceKm: ReadonlyMap<string, number>;
  readonly geo: DemoCityGeoJson;
}

const CITY_ID = 'hb';
const CENTER = { lon: 121.46, lat: 31.22 };
const COLS = 4;
const ROWS = 3;
const CELL_W_KM = 5.0;
const CELL_H_KM = 4.6;
const WIDTH_KM = COLS * CELL_W_KM;
const HEIGHT_KM = ROWS * CELL_H_KM;
const X0 = -WIDTH_KM / 2;
const Y0 = -HEIGHT_KM / 2;

/** Rows south → north, columns west → east; the east column faces the sea. */
const DISTRICT_NAMES: readonly (readonly [slug: string, zh: string, en: string])[][] = [
  [
    ['xigang', '西港区', 'Xigang'],
    ['nanhu', '南湖区', 'Nanhu'],
    ['jinqiao', '金桥区', 'Jinqiao'],
    ['lingang', '临港区', 'Lingang'],
  ],
  [
    ['taoyuan', '桃源区', 'Taoyuan'],
    ['laocheng', '老城区', 'Laocheng'],
    ['haihe', '海河区', 'Haihe'],
    ['binjiang', '滨江区', 'Binjiang'],
  ],
  [
    ['beitang', '北塘区', 'Beitang'],
    ['gaoxin', '高新区', 'Gaoxin'],
    ['donghu', '东湖区', 'Donghu'],
    ['wanghai', '望海区', 'Wanghai'],
  ],
];

/** Sensors per district and kind: 12 districts × 20 = 240 sensors. */
const PER_DISTRICT: Readonly<Record<SensorKind, number>> = {
  traffic_speed: 5,
  traffic_occupancy: 5, // co-located with the speed sensors (one station each)
  water_level: 4,
  air_quality_pm25: 3,
  power_load: 3,
};

const KIND_SLUG: Readonly<Record<SensorKind, string>> = {
  traffic_speed: 'spd',
  traffic_occupancy: 'occ',
  water_level: 'wl',
  air_quality_pm25: 'pm25',
  power_load: 'pwr',
};

/**
 * Departments with their station (km east and north of the centre, well inside the outer
 * districts, whose edges jitter by up to 0.5 km) and how many field units or crews they have.
 * Placed so that on the wall each station's label (drawn to its right) clears the others and
 * the district names.
 */
const DEPARTMENTS: readonly (readonly [id: string, zh: string, en: string, xKm: number, yKm: number, units: number])[] = [
  ['dept.water', '市水务局', 'Municipal Water Authority', 0.9, -0.7, 8],
  ['dept.traffic-police', '市公安局交通警察支队', 'Traffic Police Detachment', -3.4, 1.5, 14],
  ['dept.ecology', '市生态环境局', 'Ecology and Environment Bureau', 4.6, -3.1, 5],
  ['dept.power', '国网海滨供电公司', 'Haibin Power Supply Company', -6.0, -2.6, 10],
  ['dept.market', '市市场监督管理局', 'Market Regulation Administration', -1.6, -3.4, 4],
  ['dept.urban', '市城市管理综合执法局', 'Urban Management Bureau', 2.9, 3.7, 12],
  ['dept.emergency', '市应急管理局', 'Emergency Management Bureau', 0.6, 2.6, 6],
  ['dept.development', '市发展和改革委员会', 'Development and Reform Commission', -5.3, 4.5, 2],
  ['dept.finance', '市地方金融管理局', 'Local Financial Regulatory Bureau', 4.0, 1.6, 2],
];

/*
 * Market indicators. Risk lines sit ≥ 4 stationary standard deviations from the base, so normal
 * fluctuation does not cross them and a crossing is an injected shock. Frequencies are those of
 * the real statistic; the simulator compresses time and ticks every indicator every tick.
 */
const INDICATORS: readonly (Omit<Indicator, 'schema_version'> & { model: IndicatorModel })[] = [
  {
    id: 'ind.cpi',
    name_zh: '居民消费价格指数（上年同月=100）',
    name_en: 'Consumer price index (same month last year = 100)',
    unit: 'index',
    frequency: 'month',
    risk_upper: 102.5,
    risk_lower: 99.2,
    model: { base: 100.8, sd: 0.15, decimals: 2, shockDirection: 1 },
  },
  {
    id: 'ind.pork',
    name_zh: '猪肉批发价格',
    name_en: 'Pork wholesale price',
    unit: 'CNY/kg',
    frequency: 'day',
    risk_upper: 29,
    risk_lower: 20,
    model: { base: 24.5, sd: 0.5, decimals: 2, shockDirection: 1 },
  },
  {
    id: 'ind.vegetable-basket',
    name_zh: '“菜篮子”价格指数',
    name_en: 'Vegetable basket price index',
    unit: 'index',
    frequency: 'day',
    risk_upper: 120,
    risk_lower: 104,
    model: { base: 112, sd: 1.2, decimals: 1, shockDirection: 1 },
  },
  {
    id: 'ind.egg',
    name_zh: '鸡蛋零售价格',
    name_en: 'Egg retail price',
    unit: 'CNY/kg',
    frequency: 'day',
    risk_upper: 10.4,
    risk_lower: 8.0,
    model: { base: 9.2, sd: 0.2, decimals: 2, shockDirection: 1 },
  },
  {
    id: 'ind.housing',
    name_zh: '新建商品住宅价格指数',
    name_en: 'New housing price index',
    unit: 'index',
    frequency: 'month',
    risk_upper: 100.5,
    risk_lower: 96.5,
    model: { base: 98.5, sd: 0.3, decimals: 2, shockDirection: -1 },
  },
  {
    id: 'ind.pmi',
    name_zh: '制造业采购经理指数',
    name_en: 'Manufacturing PMI',
    unit: 'index',
    frequency: 'month',
    risk_upper: 53,
    risk_lower: 48.5,
    model: { base: 50.3, sd: 0.35, decimals: 1, shockDirection: -1 },
  },
  {
    id: 'ind.logistics',
    name_zh: '物流业景气指数',
    name_en: 'Logistics prosperity index',
    unit: 'index',
    frequency: 'month',
    risk_upper: 54,
    risk_lower: 49.5,
    model: { base: 51.5, sd: 0.4, decimals: 1, shockDirection: -1 },
  },
  {
    id: 'ind.stock-index',
    name_zh: '海滨综合股价指数',
    name_en: 'Haibin composite stock index',
    unit: 'points',
    frequency: 'minute',
    risk_upper: 3380,
    risk_lower: 3120,
    model: { base: 3250, sd: 25, decimals: 2, shockDirection: -1 },
  },
  {
    id: 'ind.turnover',
    name_zh: '股票市场成交额',
    name_en: 'Stock market turnover',
    unit: 'CNY bn',
    frequency: 'minute',
    risk_upper: 1150,
    risk_lower: 750,
    model: { base: 950, sd: 40, decimals: 1, shockDirection: 1 },
  },
  {
    id: 'ind.bond-10y',
    name_zh: '10年期国债收益率',
    name_en: '10-year government bond yield',
    unit: '%',
    frequency: 'minute',
    risk_upper: 2.2,
    risk_lower: 2.0,
    model: { base: 2.1, sd: 0.015, decimals: 3, shockDirection: -1 },
  },
  {
    id: 'ind.rebar',
    name_zh: '螺纹钢现货价格',
    name_en: 'Rebar steel spot price',
    unit: 'CNY/t',
    frequency: 'day',
    risk_upper: 3760,
    risk_lower: 3440,
    model: { base: 3600, sd: 30, decimals: 0, shockDirection: 1 },
  },
  {
    id: 'ind.power-spot',
    name_zh: '电力现货市场出清价格',
    name_en: 'Electricity spot clearing price',
    unit: 'CNY/MWh',
    frequency: 'minute',
    risk_upper: 560,
    risk_lower: 280,
    model: { base: 420, sd: 25, decimals: 1, shockDirection: 1 },
  },
  {
    id: 'ind.usdcny',
    name_zh: '美元兑人民币汇率',
    name_en: 'USD/CNY exchange rate',
    unit: 'CNY',
    frequency: 'minute',
    risk_upper: 7.26,
    risk_lower: 7.1,
    model: { base: 7.18, sd: 0.012, decimals: 4, shockDirection: 1 },
  },
];

/** Cameras: [district slug, place zh, place en, lavfi test source]. URLs are replaced by real streams in deployment. */
const CAMERAS: readonly (readonly [string, string, string, string, number])[] = [
  ['laocheng', '人民广场', "People's Square", 'lavfi:testsrc2=size=1280x720:rate=10', 5],
  ['haihe', '海河大桥', 'Haihe Bridge', 'lavfi:testsrc2=size=1280x720:rate=10', 5],
  ['binjiang', '滨江隧道口', 'Binjiang Tunnel Entrance', 'lavfi:testsrc=size=1280x720:rate=10', 4],
  ['gaoxin', '科技园路口', 'Science Park Crossing', 'lavfi:testsrc2=size=960x540:rate=10', 4],
  ['donghu', '东湖地铁站', 'Donghu Metro Station', 'lavfi:smptebars=size=1280x720:rate=10', 3],
  ['lingang', '港区大门', 'Port Gate', 'lavfi:testsrc=size=1920x1080:rate=10', 3],
  ['nanhu', '南湖公园', 'Nanhu Park', 'lavfi:testsrc2=size=640x360:rate=10', 2],
  ['xigang', '西港立交', 'Xigang Interchange', 'lavfi:testsrc2=size=1280x720:rate=10', 5],
];

type Pt = [number, number];

/**
 * The demo city's definitions: districts (Area), 240 sensors of the 5 kinds, 8 cameras, 13
 * market indicators, 9 departments, and the basemap. Pure: the same seed gives the same city.
 */
export function createDemoCity(options: DemoCityOptions = {}): DemoCity {
  const seed = options.seed ?? DEMO_CITY_DEFAULT_SEED;
  const frame: LocalFrame = { originLon: CENTER.lon, originLat: CENTER.lat };
  const ll = (p: Pt): Position => toLonLat(frame, p[0], p[1]);

  // Lattice corners, jittered; then each shared edge is bent the same way for both neighbours.
  const corners: Pt[][] = [];
  const cornerRng = createRng(seed, 'corners');
  for (let r = 0; r <= ROWS; r++) {
    const row: Pt[] = [];
    for (let c = 0; c <= COLS; c++) {
      const boundary = r === 0 || r === ROWS || c === 0 || c === COLS;
      const j = boundary ? 0.5 : 0.75;
      row.push([X0 + c * CELL_W_KM + cornerRng.range(-j, j), Y0 + r * CELL_H_KM + cornerRng.range(-j, j)]);
    }
    corners.push(row);
  }
  const corner = (r: number, c: number): Pt => corners[r]![c]!;
  const hEdge = (r: number, c: number): Pt[] => bentEdge(corner(r, c), corner(r, c + 1), createRng(seed, 'h', r, c), 4, 0.3);
  const vEdge = (r: number, c: number): Pt[] =>
    c === COLS
      ? bentEdge(corner(r, c), corner(r + 1, c), createRng(seed, 'coast', r), 8, 0.45) // a ragged coastline
      : bentEdge(corner(r, c), corner(r + 1, c), createRng(seed, 'v', r, c), 4, 0.3);

  const coast: Pt[] = [];
  for (let r = 0; r < ROWS; r++) appendPath(coast, vEdge(r, COLS));
  const coastX = (y: number): number => interpolateX(coast, y);
  const minCoastX = Math.min(...coast.map((p) => p[0]));

  // River: meanders west → east through the middle row and meets the sea.
  const riverRng = createRng(seed, 'river');
  const phase = riverRng.range(0, 2 * Math.PI);
  const phase2 = riverRng.range(0, 2 * Math.PI);
  const river: Pt[] = [];
  for (let x = X0 - 2.5; ; x += 0.4) {
    const y = 0.2 + 1.2 * Math.sin((2 * Math.PI * (x - X0)) / 9 + phase) + 0.4 * Math.sin((2 * Math.PI * x) / 3.7 + phase2);
    const cx = coastX(y);
    if (x >= cx) {
      river.push([cx, y]);
      break;
    }
    river.push([x, y]);
  }

  const roads = buildRoads(seed, coastX, minCoastX, coast);

  // Districts.
  const areas: Area[] = [];
  const districtFeatures: Feature<PolygonGeometry, DistrictProperties>[] = [];
  const rings = new Map<string, Pt[]>();
  const popRng = createRng(seed, 'population');
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLS; c++) {
      const [slug, zh, en] = DISTRICT_NAMES[r]![c]!;
      const ring: Pt[] = [];
      appendPath(ring, hEdge(r, c)); // south edge, west → east
      appendPath(ring, vEdge(r, c + 1)); // east edge, south → north
      appendPath(ring, hEdge(r + 1, c).reverse()); // north edge, east → west
      appendPath(ring, vEdge(r, c).reverse()); // west edge, north → south (closes the ring)
      const id = `${CITY_ID}.${slug}`;
      rings.set(id, ring);
      const central = (r === 1 && (c === 1 || c === 2)) || (r === 2 && c === 1);
      const population = Math.round(popRng.range(central ? 650_000 : 260_000, central ? 980_000 : 620_000) / 1000) * 1000;
      const geometry: PolygonGeometry = { type: 'Polygon', coordinates: [ring.map(ll)] };
      const [lon, lat] = ll(centroid(ring));
      areas.push({
        id,
        schema_version: 1,
        name_zh: `海滨市${zh}`,
        name_en: `${en} District`,
        population,
        geometry: JSON.stringify(geometry),
        lon,
        lat,
      });
      districtFeatures.push({
        type: 'Feature',
        id,
        geometry,
        properties: { id, name_zh: `海滨市${zh}`, name_en: `${en} District`, population },
      });
    }
  }

  // Sensors: placed inside their district; traffic stations snapped onto a road.
  const sensors: Sensor[] = [];
  const stations: TrafficStation[] = [];
  const waterDistanceKm = new Map<string, number>();
  const roadLines = roads.map((r) => r.line);
  for (const area of areas) {
    const ring = rings.get(area.id)!;
    const slug = area.id.slice(CITY_ID.length + 1);
    const place = createRng(seed, 'sensors', area.id);
    const districtZh = area.name_zh.replace('海滨市', '');
    const districtEn = area.name_en.replace(' District', '');
    const add = (kind: SensorKind, n: number, p: Pt): string => {
      const info = SENSOR_KIND_INFO[kind];
      const num = String(n).padStart(2, '0');
      const id = `${area.id}.${KIND_SLUG[kind]}${num}`;
      const [lon, lat] = ll(p);
      sensors.push({
        id,
        schema_version: 1,
        kind,
        area_id: area.id,
        name: `${districtZh}${info.zh}${num} · ${districtEn} ${info.en.toLowerCase()} ${num}`,
        lon,
        lat,
        unit: info.unit,
      });
      return id;
    };
    for (let n = 1; n <= PER_DISTRICT.traffic_speed; n++) {
      const p = placeOnRoad(place, ring, roadLines);
      stations.push({
        id: `${CITY_ID}.${slug}.station${String(n).padStart(2, '0')}`,
        area_id: area.id,
        speedSensorId: add('traffic_speed', n, p),
        occupancySensorId: add('traffic_occupancy', n, p),
      });
    }
    for (let n = 1; n <= PER_DISTRICT.water_level; n++) {
      const p = placeInRing(place, ring);
      const id = add('water_level', n, p);
      const toRiver = Math.sqrt(nearestOnPolyline(p[0], p[1], river).d2);
      const toSea = Math.sqrt(nearestOnPolyline(p[0], p[1], coast).d2);
      waterDistanceKm.set(id, Math.round(Math.min(toRiver, toSea) * 1000) / 1000);
    }
    for (let n = 1; n <= PER_DISTRICT.air_quality_pm25; n++) add('air_quality_pm25', n, placeInRing(place, ring));
    for (let n = 1; n <= PER_DISTRICT.power_load; n++) add('power_load', n, placeInRing(place, ring));
  }

  const cameraRng = createRng(seed, 'cameras');
  const cameras: Camera[] = CAMERAS.map(([slug, zh, en, url, fps], i) => {
    const area = areas.find((a) => a.id === `${CITY_ID}.${slug}`);
    if (area === undefined) throw new Error(`expected camera ${i + 1} to name a district; got '${slug}'`);
    const [lon, lat] = ll(placeOnRoad(cameraRng, rings.get(area.id)!, roadLines));
    return {
      id: `${CITY_ID}.cam${String(i + 1).padStart(2, '0')}`,
      schema_version: 1,
      area_id: area.id,
      name: `${area.name_zh.replace('海滨市', '')}${zh} · ${en}`,
      url,
      lon,
      lat,
      fps,
    };
  });

  const indicators: Indicator[] = INDICATORS.map((i) => ({
    id: i.id,
    schema_version: 1,
    name_zh: i.name_zh,
    name_en: i.name_en,
    unit: i.unit,
    frequency: i.frequency,
    risk_upper: i.risk_upper,
    risk_lower: i.risk_lower,
  }));
  const indicatorModels = new Map(INDICATORS.map((i) => [i.id, i.model] as const));

  // Sea: east of the coast, extended beyond the city to the north and south.
  const northEnd = coast[coast.length - 1]!;
  const southEnd = coast[0]!;
  const farX = X0 + WIDTH_KM + 14;
  const seaRing: Pt[] = [
    [northEnd[0] + 0.6, northEnd[1] + 5],
    ...[...coast].reverse(),
    [southEnd[0] - 0.4, southEnd[1] - 5],
    [farX, southEnd[1] - 5],
    [farX, northEnd[1] + 5],
    [northEnd[0] + 0.6, northEnd[1] + 5],
  ];
  const water: DemoCityGeoJson['water'] = {
    type: 'FeatureCollection',
    features: [
      {
        type: 'Feature',
        id: `${CITY_ID}.water.sea`,
        geometry: { type: 'Polygon', coordinates: [seaRing.map(ll)] },
        properties: { id: `${CITY_ID}.water.sea`, name_zh: '东海', name_en: 'East Sea', kind: 'sea' },
      },
      {
        type: 'Feature',
        id: `${CITY_ID}.water.river`,
        geometry: { type: 'LineString', coordinates: river.map(ll) },
        properties: { id: `${CITY_ID}.water.river`, name_zh: '海河', name_en: 'Hai River', kind: 'river' },
      },
    ],
  };

  return {
    id: CITY_ID,
    name_zh: '海滨市',
    name_en: 'Haibin',
    seed,
    center: { ...CENTER },
    areas,
    sensors,
    cameras,
    indicators,
    departments: DEPARTMENTS.map(([id, name_zh, name_en, x, y, units]): Department => {
      const [lon, lat] = ll([x, y]);
      return { id, schema_version: 1, name_zh, name_en, lon, lat, units };
    }),
    stations,
    indicatorModels,
    waterDistanceKm,
    geo: {
      districts: { type: 'FeatureCollection', features: districtFeatures },
      roads: {
        type: 'FeatureCollection',
        features: roads.map((r) => ({
          type: 'Feature',
          id: r.props.id,
          geometry: { type: 'LineString', coordinates: r.line.map(ll) },
          properties: r.props,
        })),
      },
      water,
    },
  };
}

/** The offline basemap: district polygons, roads and water as GeoJSON (WGS 84). */
export function demoCityGeoJson(city: DemoCity = createDemoCity()): DemoCityGeoJson {
  return city.geo;
}

/** An edge from a to b with n segments, bent sideways (tapering to 0 at the corners). */
function bentEdge(a: Pt, b: Pt, rng: Rng, segments: number, amplitudeKm: number): Pt[] {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len = Math.hypot(dx, dy);
  const nx = -dy / len;
  const ny = dx / len;
  const out: Pt[] = [a];
  for (let k = 1; k < segments; k++) {
    const t = k / segments;
    const off = amplitudeKm * Math.sin(Math.PI * t) * rng.range(-1, 1);
    out.push([a[0] + t * dx + off * nx, a[1] + t * dy + off * ny]);
  }
  out.push(b);
  return out;
}

/** Appends a path, skipping its first point when it repeats the last one already there. */
function appendPath(into: Pt[], path: readonly Pt[]): void {
  for (let i = 0; i < path.length; i++) {
    const p = path[i]!;
    const last = into[into.length - 1];
    if (last !== undefined && i === 0 && last[0] === p[0] && last[1] === p[1]) continue;
    into.push(p);
  }
}

/** x of a south→north polyline at height y (clamped to its ends). */
function interpolateX(line: readonly Pt[], y: number): number {
  if (y <= line[0]![1]) return line[0]![0];
  for (let i = 0; i < line.length - 1; i++) {
    const [x1, y1] = line[i]!;
    const [x2, y2] = line[i + 1]!;
    if (y >= y1 && y <= y2) return y2 === y1 ? x1 : x1 + ((y - y1) / (y2 - y1)) * (x2 - x1);
  }
  return line[line.length - 1]![0];
}

function bbox(ring: readonly Pt[]): [number, number, number, number] {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const [x, y] of ring) {
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
  }
  return [minX, minY, maxX, maxY];
}

/** A uniform point inside the ring, kept 0.15 km from its edge so markers do not sit on borders. */
function placeInRing(rng: Rng, ring: readonly Pt[]): Pt {
  const [minX, minY, maxX, maxY] = bbox(ring);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const x = rng.range(minX, maxX);
    const y = rng.range(minY, maxY);
    if (pointInRing(x, y, ring) && nearestOnPolyline(x, y, ring).d2 > 0.15 ** 2) return [x, y];
  }
  const [cx, cy] = centroid(ring);
  return [cx, cy];
}

/** A point on the nearest road to a random spot in the ring, still inside the ring. */
function placeOnRoad(rng: Rng, ring: readonly Pt[], roads: readonly (readonly Pt[])[]): Pt {
  for (let attempt = 0; attempt < 200; attempt++) {
    const [x, y] = placeInRing(rng, ring);
    let best = { x, y, d2: Infinity };
    for (const road of roads) {
      const p = nearestOnPolyline(x, y, road);
      if (p.d2 < best.d2) best = p;
    }
    if (best.d2 < 1 && pointInRing(best.x, best.y, ring)) return [best.x, best.y];
  }
  return placeInRing(rng, ring);
}

interface RoadDef {
  line: Pt[];
  props: RoadProperties;
}

const ARTERIALS_NS: readonly (readonly [number, string, string])[] = [
  [X0 + 5.0, '解放路', 'Jiefang Road'],
  [X0 + 10.0, '人民大道', 'Renmin Avenue'],
  [X0 + 15.0, '建设路', 'Jianshe Road'],
];
const ARTERIALS_EW: readonly (readonly [number, string, string])[] = [
  [Y0 + 4.6, '中山路', 'Zhongshan Road'],
  [Y0 + 9.2, '海港大道', 'Haigang Avenue'],
  [Y0 + 12.2, '北环路', 'Beihuan Road'],
];

/** A grid of local streets, a few arterials, a ring expressway, a diagonal expressway, a coastal avenue. */
function buildRoads(seed: number, coastX: (y: number) => number, minCoastX: number, coast: readonly Pt[]): RoadDef[] {
  const rng = createRng(seed, 'roads');
  const roads: RoadDef[] = [];
  const wobble = (amp: number): number => rng.range(-amp, amp);
  const id = (s: string): string => `${CITY_ID}.road.${s}`;

  for (let k = 0; k < 16; k++) {
    const x = X0 + 0.625 + k * 1.25;
    if (x > minCoastX - 0.3 || ARTERIALS_NS.some(([ax]) => Math.abs(ax - x) < 0.5)) continue;
    const line: Pt[] = [];
    for (let y = Y0 - 0.6; y <= Y0 + HEIGHT_KM + 0.61; y += HEIGHT_KM / 8) line.push([x + wobble(0.06), y]);
    roads.push({ line, props: { id: id(`ns${k}`), name_zh: `纵${k + 1}路`, name_en: `N-S Street ${k + 1}`, class: 'local' } });
  }
  for (let k = 0; k < 12; k++) {
    const y = Y0 + 0.575 + k * 1.15;
    if (ARTERIALS_EW.some(([ay]) => Math.abs(ay - y) < 0.45)) continue;
    const end = coastX(y) - 0.2;
    const line: Pt[] = [];
    for (let x = X0 - 0.6; x < end; x += 1.6) line.push([x, y + wobble(0.06)]);
    line.push([end, y]);
    roads.push({ line, props: { id: id(`ew${k}`), name_zh: `横${k + 1}路`, name_en: `E-W Street ${k + 1}`, class: 'local' } });
  }
  ARTERIALS_NS.forEach(([x, zh, en], k) => {
    const line: Pt[] = [];
    for (let y = Y0 - 2; y <= Y0 + HEIGHT_KM + 2.01; y += 1.1) line.push([x + wobble(0.12), y]);
    roads.push({ line, props: { id: id(`arterial-ns${k}`), name_zh: zh, name_en: en, class: 'arterial' } });
  });
  ARTERIALS_EW.forEach(([y, zh, en], k) => {
    const end = coastX(y) - 0.15;
    const line: Pt[] = [];
    for (let x = X0 - 2; x < end; x += 1.1) line.push([x, y + wobble(0.12)]);
    line.push([end, y]);
    roads.push({ line, props: { id: id(`arterial-ew${k}`), name_zh: zh, name_en: en, class: 'arterial' } });
  });
  // 滨海大道 follows the coast 400 m inland.
  roads.push({
    line: coast.filter((_, i) => i % 2 === 0).map(([x, y]) => [x - 0.4, y] as Pt),
    props: { id: id('binhai'), name_zh: '滨海大道', name_en: 'Binhai Avenue', class: 'arterial' },
  });
  // Inner ring expressway (a closed LineString: first point repeated).
  const ring: Pt[] = [];
  for (let i = 0; i <= 48; i++) {
    const a = (2 * Math.PI * i) / 48;
    ring.push(i === 48 ? ring[0]! : [6.6 * Math.cos(a) + wobble(0.08), 4.3 * Math.sin(a) + wobble(0.08)]);
  }
  roads.push({ line: ring, props: { id: id('inner-ring'), name_zh: '内环高架', name_en: 'Inner Ring Expressway', class: 'expressway' } });
  const diagonal: Pt[] = [];
  for (let t = 0; t <= 1.0001; t += 0.05) diagonal.push([X0 - 1.5 + t * (WIDTH_KM - 1.5), Y0 - 1.5 + t * (HEIGHT_KM + 2.8) + wobble(0.1)]);
  roads.push({
    line: diagonal,
    props: { id: id('airport-expressway'), name_zh: '机场高速', name_en: 'Airport Expressway', class: 'expressway' },
  });
  return roads;
}
