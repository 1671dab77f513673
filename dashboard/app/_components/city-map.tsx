'use client';

import { useEffect, useMemo, useRef, useState } from 'react';
import DeckGL from '@deck.gl/react';
import { MapView, WebMercatorViewport, type MapViewState } from '@deck.gl/core';
import { PathLayer, ScatterplotLayer, SolidPolygonLayer, TextLayer } from '@deck.gl/layers';
import { levelRank, type Area, type Camera, type Incident, type Sensor } from '@cityops/schemas';
import { LEVEL_RGB, MAP_COLORS, withAlpha, type Rgba } from '../_lib/colors.js';
import { basemapShapes, boundsOf, districtShapes, type DistrictShape, type PathShape, type Position2, type Rings } from '../_lib/geo.js';
import { localName, type Lang } from '../_lib/i18n.js';
import { SENSOR_ANOMALOUS, SENSOR_NORMAL, isActive, type FeedView } from '../_lib/live-feed.js';

/*
 * The city map: the project's own GeoJSON only (no tile layer, no network). Layer ids are
 * stable and every layer is memoised on the data it draws, so a re-render rebuilds nothing that
 * did not change; live state reaches the GPU through updateTriggers on one number (sensor
 * status version, area level key) and the incident pulse through two uniforms (radiusScale,
 * opacity), so the 30 fps pulse never touches an attribute buffer.
 */

const VIEWS = new MapView({ id: 'city', controller: true });
const PULSE_PERIOD_MS = 1600;
const PULSE_FRAME_MS = 33;
/** After an operator pans or zooms, the map returns to the whole city once idle this long. */
const RETURN_HOME_AFTER_MS = 120_000;
/** Sizes are designed for a 1920 px wide layout and scaled with the panel (a 4K wall doubles them). */
const DESIGN_WIDTH_PX = 1920;

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

  const { city, basemap, sensors, sensorStatusVersion, areaLevels, areaLevelsKey, incidents } = view;
  const districts = useMemo(() => districtShapes(city?.areas ?? []), [city]);
  const shapes = useMemo(() => (basemap === null ? null : basemapShapes(basemap)), [basemap]);
  const activeIncidents = useMemo(() => incidents.filter(isActive).sort((a, b) => levelRank(a.level) - levelRank(b.level)), [incidents]);

  /* ----- view: fit the whole city, return there after an operator leaves it ----- */
  const bounds = useMemo(() => boundsOf(districts, city?.sensors ?? []), [districts, city]);
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

  /* ----- incident pulse: a phase in 0…1 drives two uniforms ----- */
  const [phase, setPhase] = useState(0);
  const pulsing = activeIncidents.length > 0;
  useEffect(() => {
    if (!pulsing) return;
    let raf = 0;
    let last = 0;
    const loop = (t: number) => {
      if (t - last >= PULSE_FRAME_MS) {
        last = t;
        setPhase((t % PULSE_PERIOD_MS) / PULSE_PERIOD_MS);
      }
      raf = window.requestAnimationFrame(loop);
    };
    raf = window.requestAnimationFrame(loop);
    return () => window.cancelAnimationFrame(raf);
  }, [pulsing]);

  /* ----- layers ----- */
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
          return level === undefined ? MAP_COLORS.district : withAlpha(LEVEL_RGB[level], 72);
        },
        updateTriggers: { getFillColor: areaLevelsKey },
      }),
    ],
    [districts, areaLevels, areaLevelsKey],
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

  const sensorLayer = useMemo(
    () =>
      new ScatterplotLayer<Sensor>({
        id: 'sensors',
        data: city?.sensors ?? [],
        getPosition: (s) => [s.lon, s.lat],
        // Status lives in a typed array indexed like the data; the version number is the trigger.
        getFillColor: (_, { index }) => {
          const status = sensors.status[index];
          return status === SENSOR_ANOMALOUS
            ? MAP_COLORS.sensorAnomalous
            : status === SENSOR_NORMAL
              ? MAP_COLORS.sensorNormal
              : MAP_COLORS.sensorSilent;
        },
        getRadius: (_, { index }) => (sensors.status[index] === SENSOR_ANOMALOUS ? 7 : 4.5),
        radiusUnits: 'pixels',
        radiusScale: uiScale,
        stroked: true,
        getLineColor: MAP_COLORS.labelOutline,
        lineWidthUnits: 'pixels',
        getLineWidth: 1,
        updateTriggers: { getFillColor: sensorStatusVersion, getRadius: sensorStatusVersion },
      }),
    [city, sensors, sensorStatusVersion, uiScale],
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
  const layers = [...districtLayers, ...waterLayers, roadLayer, outlineLayer, cameraLayer, sensorLayer, haloLayer, markerLayer, labelLayer];

  return (
    <div ref={containerRef} className="city-map" data-testid="city-map">
      {initialViewState !== null && (
        <DeckGL
          views={VIEWS}
          initialViewState={initialViewState}
          onInteractionStateChange={(s) => {
            if (s.isDragging === true || s.isZooming === true || s.isPanning === true) lastInteractionRef.current = Date.now();
          }}
          layers={layers}
        />
      )}
    </div>
  );
}
