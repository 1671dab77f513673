import { WARNING_LEVELS, WARNING_LEVEL_INFO } from '@cityops/schemas';
import { HEAT_GRADIENT_CSS, MAP_COLORS, rgbaCss } from '../_lib/colors.js';
import { useLang } from '../_lib/i18n.js';

export function MapLegend() {
  const { lang, text } = useLang();
  return (
    <div className="map-legend">
      <div className="legend-block">
        <div className="legend-title">{text.legendLevels}</div>
        {[...WARNING_LEVELS].reverse().map((level) => (
          <div key={level} className="legend-item">
            <span className="swatch" style={{ background: WARNING_LEVEL_INFO[level].colorHex }} />
            {WARNING_LEVEL_INFO[level][lang]}
          </div>
        ))}
      </div>
      <div className="legend-block">
        <div className="legend-title">{text.legendSensors}</div>
        <div className="legend-item">
          <span className="dot" style={{ background: rgbaCss(MAP_COLORS.sensorNormal) }} />
          {text.sensorNormal}
        </div>
        <div className="legend-item">
          <span className="dot dot-big" style={{ background: rgbaCss(MAP_COLORS.sensorAnomalous) }} />
          {text.sensorAnomalous}
        </div>
        <div className="legend-item">
          <span className="dot" style={{ background: rgbaCss(MAP_COLORS.sensorSilent) }} />
          {text.sensorSilent}
        </div>
        <div className="legend-item">
          <span className="ring" />
          {text.legendIncident}
        </div>
        <div className="legend-item">
          <span className="dot dot-hollow" style={{ borderColor: rgbaCss(MAP_COLORS.camera) }} />
          {text.legendCamera}
        </div>
        <div className="legend-item">
          <span className="legend-badge">car 3</span>
          {text.legendCameraDetections}
        </div>
        <div className="legend-item" data-testid="legend-station">
          <span
            className="legend-station"
            style={{ borderColor: rgbaCss(MAP_COLORS.stationRing), background: rgbaCss(MAP_COLORS.stationFill) }}
          />
          {text.legendStation}
        </div>
        <div className="legend-item">
          <span
            className="legend-line"
            style={{ background: `linear-gradient(90deg, ${WARNING_LEVEL_INFO.yellow.colorHex}, ${WARNING_LEVEL_INFO.red.colorHex})` }}
          />
          {text.legendDispatchLine}
        </div>
      </div>
      <div className="legend-block" data-testid="legend-heat">
        <div className="legend-title">{text.legendHeat}</div>
        <div className="legend-item">
          <span className="heat-ramp" style={{ background: HEAT_GRADIENT_CSS }} />
          {text.legendHeatRange}
        </div>
      </div>
    </div>
  );
}
