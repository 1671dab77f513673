'use client';

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import DeckGL from '@deck.gl/react';
import { COORDINATE_SYSTEM, MapView, WebMercatorViewport, type MapViewState } from '@deck.gl/core';
import { BitmapLayer, LineLayer, PathLayer, ScatterplotLayer, SolidPolygonLayer, TextLayer } from '@deck.gl/layers';
import { levelRank, type Area, type Camera, type Incident } from '@cityops/schemas';
import type { CameraDetectionSummary } from '../../src/live-protocol.js';
import { detectionLabel, detectionTotal } from '../_lib/camera-detections.js';
import { dispatchLineColor, heatColor, LEVEL_RGB, MAP_COLORS, withAlpha, type Rgba } from '../_lib/colors.js';
import { dispatchLines, stations, unitsLabel, type DispatchLine, type Station } from '../_lib/department-units.js';
import { basemapShapes, boundsOf, districtShapes, type DistrictShape, type PathShape, type Position2, type Rings } from '../_lib/geo.js';
import { localName, type Lang } from '../_lib/i18n.js';
import { heatGrid, heatPoints, type HeatCell } from '../_lib/heat-grid.js';
import { HEAT_WINDOW_MS, isActive, type FeedView } from '../_lib/live-feed.js';
import { tileKey, tilesCovering, tileZoomFor, type TileIndex } from '../_lib/raster-tiles.js';
import { useRasterTiles } from '../_lib/use-raster-tiles.js';
import { recordMapFrame } from '../_lib/wall-perf.js';

/*
 * The city map: the project's own GeoJSON basemap, over the raster tiles of an on-premises tile
 * server when one is configured (CITYOPS_TILE_URL; otherwise nothing is requested from anywhere
 * but the dashboard). Departments' stations are drawn with their busy/total units and a line to
 * each incident dispatched to them. Layer ids are stable and every layer is memoised on the data
 * it draws, so a re-render rebuilds nothing that did not change. Sensors (up to 100k and more)
 * are drawn from binary attributes: the live feed keeps positions, colours and radii in typed
 * arrays and updates them in place; a status change bumps one version number, which gives the
 * layer new attribute descriptors over the same arrays, and deck.gl writes them into the existing
 * GPU buffers (no accessor runs per sensor).
 * Districts follow one key (updateTriggers) and the incident pulse two uniforms (radiusScale,
 * opacity), so the 30 fps pulse never touches an attribute buffer. The events heatmap is
 * re-aggregated when a warning or an anomaly arrives and once a minute as its window slides.
 * Camera detection badges and station labels are DOM (crisp text at any wall resolution), placed
 * by deck's viewport.
 */

const VIEWS = new MapView({ id: 'city', controller: true });

/** Where a DOM badge for lon/lat goes on the map, in pixels; null when it is off the map. */
function onScreen(
  viewport: { project: (p: number[]) => number[]; width: number; height: number },
  lon: number,
  lat: number,
): [number, number] | null {
  const [x, y] = viewport.project([lon, lat]);
  if (x === undefined || y === undefined || x < 0 || y < 0 || x > viewport.width || y > viewport.height) return null;
  return [x, y];
}
const PULSE_PERIOD_MS = 1600;
const PULSE_FRAME_MS = 33;
/**
 * Frames further apart than this are slow; this many in a row pause the pulse for PULSE_PAUSE_MS.
 * Below ~16 fps a pulse is no longer smooth anyway, and it keeps the main thread saturated: on a
 * software renderer at 2,000 sensors (≈ 100 ms frames) new incidents reached the list in p99
 * ≈ 500 ms with the pulse running and ≈ 150 ms without it (bench:dashboard, city phase).
 */
const SLOW_FRAME_MS = 60;
const SLOW_FRAMES_BEFORE_PAUSE = 5;
const PULSE_PAUSE_MS = 60_000;
/** After an operator pans or zooms, the map returns to the whole city once idle this long. */
const RETURN_HOME_AFTER_MS = 120_000;
/** Sizes are designed for a 1920 px wide layout and scaled with the panel (a 4K wall doubles them). */
const DESIGN_WIDTH_PX = 1920;
/** A camera badge older than this says its age (a frame with nothing detected publishes nothing). */
const DETECTION_AGE_SHOWN_AFTER_MS = 60_000;
/** Older than this, a camera's last detections are not shown at all. */
const DETECTION_HIDDEN_AFTER_MS = 15 * 60_000;

/** The sensor layer's data: only a length and binary attributes, no objects. */
interface SensorAttributes {
  length: number;
  attributes: Record<string, { value: Float32Array | Uint8Array; size: number; normalized?: boolean }>;
}

interface Props {
  view: FeedView;
  lang: Lang;
}

export function CityMap({ view, lang }: Props) {
  const containerRef = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState<{ width: number; height: number } | null>(null);
  useEffect(() => {
    const el = containerRef.current;
    if (el === null) return;
    const observer = new ResizeObserver(([entry]) => {
      if (entry !== undefined) setSize({ width: entry.contentRect.width, height: entry.contentRect.height });
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const uiScale = Math.max(0.75, (typeof window === 'undefined' ? DESIGN_WIDTH_PX : window.innerWidth) / DESIGN_WIDTH_PX);

  const { city, basemap, sensors, sensorStatusVersion, areaLevels, areaLevelsKey, incidents, warnings, recentAnomalies, now } = view;
  const { cameraDetections, cameraDetectionsVersion } = view;
  const districts = useMemo(() => districtShapes(city?.areas ?? []), [city]);
  const shapes = useMemo(() => (basemap === null ? null : basemapShapes(basemap)), [basemap]);
  const activeIncidents = useMemo(() => incidents.filter(isActive).sort((a, b) => levelRank(a.level) - levelRank(b.level)), [incidents]);
  const stationList = useMemo(() => (city === null ? [] : stations(city.departmentById.values(), incidents)), [city, incidents]);
  const lines = useMemo(() => (city === null ? [] : dispatchLines(city.departmentById, incidents)), [city, incidents]);

  /* ----- view: fit the whole city, return there after an operator leaves it ----- */
  const bounds = useMemo(() => boundsOf(districts, city?.sensors ?? []), [districts, city]);

  // The heatmap's window slides by the minute: one re-aggregation a minute, not one a frame.
  const heatMinute = now === null ? null : Math.floor(now / 60_000);
  const heat = useMemo(
    () =>
      heatMinute === null
        ? heatGrid([], null)
        : heatGrid(heatPoints(warnings, recentAnomalies, city, heatMinute * 60_000 + 59_999, HEAT_WINDOW_MS), bounds),
    [warnings, recentAnomalies, city, heatMinute, bounds],
  );

  /** Cameras with a recent frame's detections, newest detections only; none in a replayed past. */
  const detectionTick = now === null ? null : Math.floor(now / 15_000);
  const cameraBadges = useMemo(() => {
    if (city === null || detectionTick === null) return [];
    const at = detectionTick * 15_000;
    const out: { lon: number; lat: number; id: string; summary: CameraDetectionSummary; ageMin: number | null }[] = [];
    for (const c of city.cameras) {
      const summary = cameraDetections.get(c.id);
      if (summary === undefined) continue;
      const age = at - summary.ts;
      if (age > DETECTION_HIDDEN_AFTER_MS || age < -DETECTION_HIDDEN_AFTER_MS) continue;
      out.push({ lon: c.lon, lat: c.lat, id: c.id, summary, ageMin: age > DETECTION_AGE_SHOWN_AFTER_MS ? Math.round(age / 60_000) : null });
    }
    return out;
    // cameraDetectionsVersion: the map is updated in place.
  }, [city, cameraDetections, cameraDetectionsVersion, detectionTick]);
  const [homeNonce, setHomeNonce] = useState(0);
  const lastInteractionRef = useRef<number | null>(null);
  useEffect(() => {
    const timer = window.setInterval(() => {
      const last = lastInteractionRef.current;
      if (last !== null && Date.now() - last > RETURN_HOME_AFTER_MS) {
        lastInteractionRef.current = null;
        setHomeNonce((n) => n + 1);
      }
    }, 5000);
    return () => window.clearInterval(timer);
  }, []);
  const initialViewState = useMemo((): MapViewState | null => {
    if (size === null || bounds === null || size.width < 10 || size.height < 10) return null;
    const [w, s, e, n] = bounds;
    // A single point has no extent to fit: give it ~1 km.
    const pad = Math.max(0, 0.01 - (e - w), 0.01 - (n - s)) / 2;
    const fitted = new WebMercatorViewport({ width: size.width, height: size.height }).fitBounds(
      [
        [w - pad, s - pad],
        [e + pad, n + pad],
      ],
      // Room on the left for the legend (about 18rem; 1rem = 16 px × uiScale).
      {
        padding: {
          left: Math.round(300 * uiScale),
          right: Math.round(40 * uiScale),
          top: Math.round(64 * uiScale),
          bottom: Math.round(40 * uiScale),
        },
      },
    );
    return {
      longitude: fitted.longitude,
      latitude: fitted.latitude,
      zoom: fitted.zoom,
      pitch: 0,
      bearing: 0,
      transitionDuration: homeNonce === 0 ? 0 : 1500,
    };
  }, [size, bounds, uiScale, homeNonce]);

  /* ----- raster tiles: the view's tiles, re-listed only when the set changes ----- */
  const tileServer = city?.tiles ?? null;
  const [wantedTiles, setWantedTiles] = useState<readonly TileIndex[]>([]);
  const wantedKeyRef = useRef('');
  const trackTiles = useCallback(
    (viewState: MapViewState) => {
      if (tileServer === null || size === null || size.width < 10 || size.height < 10) return;
      const viewport = new WebMercatorViewport({ ...viewState, width: size.width, height: size.height });
      const wanted = tilesCovering(viewport.getBounds(), tileZoomFor(viewState.zoom, tileServer.max_zoom));
      const key = wanted.map(tileKey).join(' ');
      if (key === wantedKeyRef.current) return;
      wantedKeyRef.current = key;
      setWantedTiles(wanted);
    },
    [tileServer, size],
  );
  useEffect(() => {
    if (initialViewState !== null) trackTiles(initialViewState);
  }, [initialViewState, trackTiles]);
  const rasterTiles = useRasterTiles(tileServer, wantedTiles);

  /* ----- incident pulse: a phase in 0…1 drives two uniforms ----- */
  const [phase, setPhase] = useState(0);
  const [pulsePausedUntil, setPulsePausedUntil] = useState(0);
  const pulsing = activeIncidents.length > 0;
  useEffect(() => {
    if (!pulsing) return;
    const pausedForMs = pulsePausedUntil - Date.now();
    if (pausedForMs > 0) {
      const timer = window.setTimeout(() => setPulsePausedUntil(0), pausedForMs);
      return () => window.clearTimeout(timer);
    }
    let raf = 0;
    let last = 0;
    let previous = 0;
    let slowFrames = 0;
    const loop = (t: number) => {
      // A renderer that cannot keep up (software WebGL drawing 100k sensors) would spend every
      // frame on the pulse and starve the live stream: the halos then stand still for a while.
      slowFrames = previous > 0 && t - previous > SLOW_FRAME_MS ? slowFrames + 1 : 0;
      previous = t;
      if (slowFrames >= SLOW_FRAMES_BEFORE_PAUSE) {
        setPulsePausedUntil(Date.now() + PULSE_PAUSE_MS);
        return;
      }
      if (t - last >= PULSE_FRAME_MS) {
        last = t;
        setPhase((t % PULSE_PERIOD_MS) / PULSE_PERIOD_MS);
      }
      raf = window.requestAnimationFrame(loop);
    };
    raf = window.requestAnimationFrame(loop);
    return () => window.cancelAnimationFrame(raf);
  }, [pulsing, pulsePausedUntil]);

  /* ----- layers ----- */
  // Beneath everything: one bitmap per tile, coarser stand-ins first (use-raster-tiles.ts).
  const tileLayers = useMemo(
    () =>
      rasterTiles.drawn.map(
        (t) =>
          new BitmapLayer({
            id: `tile-${t.key}`,
            image: t.image,
            bounds: t.bounds,
          }),
      ),
    [rasterTiles.drawn],
  );
  const tilesShown = tileServer !== null;

  const waterLayers = useMemo(() => {
    if (shapes === null) return [];
    return [
      new SolidPolygonLayer<Rings>({
        id: 'water-areas',
        data: shapes.waterAreas,
        getPolygon: (d) => d,
        getFillColor: MAP_COLORS.water,
      }),
      new PathLayer<PathShape>({
        id: 'water-lines',
        data: shapes.waterLines,
        getPath: (d) => d.path,
        getColor: MAP_COLORS.waterLine,
        getWidth: 3,
        widthUnits: 'pixels',
        widthScale: uiScale,
        capRounded: true,
        jointRounded: true,
      }),
    ];
  }, [shapes, uiScale]);

  const districtLayers = useMemo(
    () => [
      new SolidPolygonLayer<DistrictShape>({
        id: 'districts',
        data: districts,
        getPolygon: (d) => d.rings,
        getFillColor: (d): Rgba => {
          const level = areaLevels.get(d.areaId);
          if (level !== undefined) return withAlpha(LEVEL_RGB[level], 72);
          return tilesShown ? MAP_COLORS.districtOverTiles : MAP_COLORS.district;
        },
        updateTriggers: { getFillColor: [areaLevelsKey, tilesShown] },
      }),
    ],
    [districts, areaLevels, areaLevelsKey, tilesShown],
  );

  const roadLayer = useMemo(
    () =>
      shapes === null
        ? null
        : new PathLayer<PathShape>({
            id: 'roads',
            data: shapes.roads,
            getPath: (d) => d.path,
            getColor: (d) => (d.major ? MAP_COLORS.roadMajor : MAP_COLORS.road),
            getWidth: (d) => (d.major ? 2.5 : 1.2),
            widthUnits: 'pixels',
            widthScale: uiScale,
            capRounded: true,
            jointRounded: true,
          }),
    [shapes, uiScale],
  );

  const outlineLayer = useMemo(
    () =>
      new PathLayer<DistrictShape>({
        id: 'district-outlines',
        data: districts,
        getPath: (d): Position2[] => d.rings[0] ?? [],
        getColor: (d): Rgba => {
          const level = areaLevels.get(d.areaId);
          return level === undefined ? MAP_COLORS.districtOutline : LEVEL_RGB[level];
        },
        getWidth: (d) => (areaLevels.has(d.areaId) ? 3 : 1.5),
        widthUnits: 'pixels',
        widthScale: uiScale,
        jointRounded: true,
        updateTriggers: { getColor: areaLevelsKey, getWidth: areaLevelsKey },
      }),
    [districts, areaLevels, areaLevelsKey, uiScale],
  );

  const labelLayer = useMemo(
    () =>
      new TextLayer<Area>({
        id: 'district-labels',
        data: city?.areas ?? [],
        getPosition: (a) => [a.lon, a.lat],
        getText: (a) => localName(a, lang),
        getSize: 15,
        sizeUnits: 'pixels',
        sizeScale: uiScale,
        getColor: MAP_COLORS.label,
        // Glyphs are rasterised from the fonts the wall's browser has; 'auto' covers Chinese names.
        characterSet: 'auto',
        fontFamily: '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "DejaVu Sans", sans-serif',
        fontWeight: 600,
        fontSettings: { sdf: true },
        outlineWidth: 3,
        outlineColor: MAP_COLORS.labelOutline,
        getPixelOffset: [0, -18 * uiScale],
        updateTriggers: { getText: lang },
      }),
    [city, lang, uiScale],
  );

  const heatLayer = useMemo(
    () =>
      new SolidPolygonLayer<HeatCell>({
        id: 'events-heat',
        data: heat.cells,
        getPolygon: (c) => c.polygon,
        getFillColor: (c) => heatColor(c.count, heat.max),
        updateTriggers: { getFillColor: heat.max },
      }),
    [heat],
  );

  const cameraLayer = useMemo(
    () =>
      new ScatterplotLayer<Camera>({
        id: 'cameras',
        data: city?.cameras ?? [],
        getPosition: (c) => [c.lon, c.lat],
        getRadius: 3,
        radiusUnits: 'pixels',
        radiusScale: uiScale,
        filled: false,
        stroked: true,
        getLineColor: MAP_COLORS.camera,
        lineWidthUnits: 'pixels',
        getLineWidth: 1.5,
      }),
    [city, uiScale],
  );

  // Same position descriptor while the arrays are the same: deck.gl uploads positions once per city.
  const sensorPositions = useMemo(() => ({ value: sensors.positions, size: 2 }), [sensors]);
  const sensorCount = sensors.status.length;
  const sensorLayer = useMemo(() => {
    // A new descriptor object over the same typed array is deck.gl's signal to re-upload it.
    const data: SensorAttributes = {
      length: sensorCount,
      attributes: {
        getPosition: sensorPositions,
        // Bytes 0…255 read as 0…1 (deck.gl's declared colour type); `normalized` says the bytes are meant so.
        getFillColor: { value: sensors.fillColors, size: 4, normalized: true },
        getRadius: { value: sensors.radii, size: 1 },
      },
    };
    return new ScatterplotLayer<SensorAttributes>({
      id: 'sensors',
      data,
      coordinateSystem: COORDINATE_SYSTEM.LNGLAT_OFFSETS,
      coordinateOrigin: [sensors.origin[0], sensors.origin[1], 0],
      radiusUnits: 'pixels',
      radiusScale: uiScale,
      stroked: true,
      getLineColor: MAP_COLORS.labelOutline,
      lineWidthUnits: 'pixels',
      getLineWidth: 1,
    });
    // sensorStatusVersion is the invalidation: the arrays were written in place.
  }, [sensors, sensorPositions, sensorCount, sensorStatusVersion, uiScale]);

  const dispatchLineLayer = useMemo(
    () =>
      new LineLayer<DispatchLine>({
        id: 'dispatch-lines',
        data: lines,
        getSourcePosition: (l) => l.from,
        getTargetPosition: (l) => l.to,
        getColor: (l) => dispatchLineColor(l.level),
        getWidth: (l) => 1.5 + 0.5 * levelRank(l.level),
        widthUnits: 'pixels',
        widthScale: uiScale,
      }),
    [lines, uiScale],
  );

  const stationLayer = useMemo(
    () =>
      new ScatterplotLayer<Station>({
        id: 'department-stations',
        data: stationList,
        getPosition: (s) => [s.lon, s.lat],
        getRadius: 7,
        radiusUnits: 'pixels',
        radiusScale: uiScale,
        stroked: true,
        getFillColor: MAP_COLORS.stationFill,
        getLineColor: MAP_COLORS.stationRing,
        lineWidthUnits: 'pixels',
        getLineWidth: 3,
        lineWidthScale: uiScale,
      }),
    [stationList, uiScale],
  );

  const markerLayer = useMemo(
    () =>
      new ScatterplotLayer<Incident>({
        id: 'incident-markers',
        data: activeIncidents,
        getPosition: (i) => [i.lon, i.lat],
        getFillColor: (i) => LEVEL_RGB[i.level],
        getRadius: (i) => 7 + 2 * levelRank(i.level),
        radiusUnits: 'pixels',
        radiusScale: uiScale,
        stroked: true,
        getLineColor: MAP_COLORS.markerStroke,
        lineWidthUnits: 'pixels',
        getLineWidth: 2,
      }),
    [activeIncidents, uiScale],
  );

  // Recreated per frame, but only its two uniforms change: no attribute is recomputed.
  const haloLayer = new ScatterplotLayer<Incident>({
    id: 'incident-halos',
    data: activeIncidents,
    getPosition: (i) => [i.lon, i.lat],
    getRadius: (i) => 10 + 3 * levelRank(i.level),
    radiusUnits: 'pixels',
    radiusScale: uiScale * (1 + 1.8 * phase),
    filled: false,
    stroked: true,
    getLineColor: (i) => LEVEL_RGB[i.level],
    lineWidthUnits: 'pixels',
    getLineWidth: 3,
    opacity: 0.9 * (1 - phase),
  });

  // Bottom to top: administrative shading, then the physical city over it, then live points.
  const layers = [
    ...tileLayers,
    ...districtLayers,
    ...waterLayers,
    roadLayer,
    outlineLayer,
    heatLayer,
    cameraLayer,
    sensorLayer,
    dispatchLineLayer,
    stationLayer,
    haloLayer,
    markerLayer,
    labelLayer,
  ];

  return (
    <div
      ref={containerRef}
      className="city-map"
      data-testid="city-map"
      data-heat-cells={heat.cells.length}
      data-heat-max={heat.max}
      data-layer-ids={layers.map((l) => l?.id ?? '').join(' ')}
      data-tiles={tileServer === null ? 'off' : 'on'}
      data-tiles-drawn={rasterTiles.drawn.length}
      data-tiles-loaded={rasterTiles.loaded}
      data-tiles-failed={rasterTiles.failed}
    >
      {initialViewState !== null && (
        <DeckGL
          views={VIEWS}
          initialViewState={initialViewState}
          onViewStateChange={({ viewState }) => trackTiles(viewState)}
          onInteractionStateChange={(s) => {
            if (s.isDragging === true || s.isZooming === true || s.isPanning === true) lastInteractionRef.current = Date.now();
          }}
          layers={layers}
          onAfterRender={() => recordMapFrame(sensorCount)}
        >
          {({ viewport }) => [
            ...stationList.map((s) => {
              const at = onScreen(viewport, s.lon, s.lat);
              if (at === null) return null;
              const [x, y] = at;
              return (
                <div
                  key={`station-${s.department.id}`}
                  className={`station-badge${s.overloaded ? ' is-overloaded' : ''}`}
                  data-testid="station-badge"
                  data-department-id={s.department.id}
                  data-busy={s.busy}
                  data-units={s.units ?? ''}
                  style={{ transform: `translate(${Math.round(x + 11 * uiScale)}px, ${Math.round(y)}px) translateY(-50%)` }}
                >
                  {localName(s.department, lang)} <span className="station-units">{unitsLabel(s)}</span>
                </div>
              );
            }),
            ...cameraBadges.map((b) => {
              const at = onScreen(viewport, b.lon, b.lat);
              if (at === null) return null;
              const [x, y] = at;
              return (
                <div
                  key={b.id}
                  className="camera-badge"
                  data-testid="camera-badge"
                  data-camera-id={b.id}
                  data-total={detectionTotal(b.summary.counts)}
                  style={{ transform: `translate(${Math.round(x + 8 * uiScale)}px, ${Math.round(y)}px) translateY(-50%)` }}
                >
                  {detectionLabel(b.summary.counts)}
                  {b.ageMin !== null && <span className="camera-badge-age"> · {b.ageMin}′</span>}
                </div>
              );
            }),
          ]}
        </DeckGL>
      )}
      {tileServer !== null && tileServer.attribution !== '' && (
        <div className="tile-attribution" data-testid="tile-attribution">
          {tileServer.attribution}
        </div>
      )}
    </div>
  );
}
