/**
 * Sensor kinds the platform understands, with the unit a reading must be in and the range a
 * physical sensor of that kind can report. A value outside the range is a broken sensor or a
 * unit mix-up, not an anomaly: ingest rejects it to the dead-letter topic with that reason.
 */
export const SENSOR_KINDS = ['traffic_speed', 'traffic_occupancy', 'water_level', 'air_quality_pm25', 'power_load'] as const;
export type SensorKind = (typeof SENSOR_KINDS)[number];

export interface SensorKindInfo {
  unit: string;
  min: number;
  max: number;
  zh: string;
  en: string;
}

export const SENSOR_KIND_INFO: Readonly<Record<SensorKind, SensorKindInfo>> = {
  traffic_speed: { unit: 'km/h', min: 0, max: 250, zh: '路段车速', en: 'Traffic speed' },
  traffic_occupancy: { unit: '%', min: 0, max: 100, zh: '车道占有率', en: 'Lane occupancy' },
  water_level: { unit: 'cm', min: -50, max: 1000, zh: '积水/水位', en: 'Water level' },
  air_quality_pm25: { unit: 'µg/m³', min: 0, max: 2000, zh: 'PM2.5 浓度', en: 'PM2.5' },
  power_load: { unit: 'MW', min: 0, max: 5000, zh: '电网负荷', en: 'Power load' },
};

/**
 * Kinds of real-world events that warnings and incidents are about. Detectors map what they
 * see to one of these; the responsibility table maps each to a department.
 */
export const EVENT_KINDS = [
  'waterlogging',
  'congestion',
  'pollution',
  'power_overload',
  'price_shock',
  'market_volatility',
  'crowd',
  'intrusion',
  'stopped_vehicle',
  'sensor_fault',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const EVENT_KIND_LABELS: Readonly<Record<EventKind, { zh: string; en: string }>> = {
  waterlogging: { zh: '道路积水', en: 'Waterlogging' },
  congestion: { zh: '交通拥堵', en: 'Congestion' },
  pollution: { zh: '空气污染', en: 'Pollution spike' },
  power_overload: { zh: '电网过载', en: 'Power overload' },
  price_shock: { zh: '价格异动', en: 'Price shock' },
  market_volatility: { zh: '市场波动', en: 'Market volatility' },
  crowd: { zh: '人员聚集', en: 'Crowd gathering' },
  intrusion: { zh: '区域入侵', en: 'Intrusion' },
  stopped_vehicle: { zh: '车辆违停/事故', en: 'Stopped vehicle' },
  sensor_fault: { zh: '设备故障', en: 'Sensor fault' },
};
