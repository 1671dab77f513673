'use client';

import { createContext, useContext } from 'react';
import { EVENT_KIND_LABELS, WARNING_LEVEL_INFO, type EventKind, type IncidentStatus, type WarningLevel } from '@cityops/schemas';

/*
 * Wall text. Domain labels (warning levels, event kinds, sensor kinds) come from the bilingual
 * tables in @cityops/schemas so the wall, the notices and the API say the same words; only the
 * screen's own chrome is written here.
 */

export type Lang = 'zh' | 'en';
export const LANG_STORAGE_KEY = 'cityops.wall.lang';

export const UI_TEXT = {
  zh: {
    title: '城市运行监测预警',
    subtitle: '一网统管 · 实时态势',
    toggleTo: 'EN',
    toggleLabel: 'Switch to English',
    connection: { connecting: '连接中', live: '实时', reconnecting: '重连中' },
    kpiOpenIncidents: '未结事件',
    kpiWarningsHour: '近1小时预警',
    kpiSensors: '传感器在线',
    kpiFreshness: '数据新鲜度',
    kpiSla: 'SLA 达标率（当前事件）',
    kpiResponseTimes: (dispatchMin: string, resolveMin: string) => `平均派遣 ${dispatchMin} · 平均办结 ${resolveMin}`,
    minutes: (n: number) => `${n} 分`,
    kpiNone: '—',
    seconds: (n: number) => `${n} 秒`,
    mapTitle: '城市态势图',
    warningsTitle: '预警信息',
    warningsCount: (n: number) => `近1小时 ${n} 条`,
    warningsEmpty: '暂无预警',
    incidentsTitle: '事件处置',
    incidentsCount: (n: number) => `处置中 ${n} 件`,
    incidentsEmpty: '暂无未结事件',
    colLevel: '级别',
    colKind: '事件类型',
    colArea: '区域',
    colStatus: '状态',
    colDepartment: '处置部门',
    colAge: '时长',
    undispatched: '待派遣',
    overdueAccept: '超时未接单',
    overdueResolve: '超时未办结',
    machineMade: '机器研判',
    levelChip: (roman: string) => `${roman}级`,
    legendLevels: '预警等级',
    legendSensors: '传感器',
    sensorNormal: '正常',
    sensorAnomalous: '异常（5分钟内）',
    sensorSilent: '离线（60秒无数据）',
    legendIncident: '未结事件',
    legendCamera: '视频点位',
    legendCameraDetections: '最新识别（目标数）',
    legendStation: '部门驻点（出动/总力量）',
    legendDispatchLine: '派遣连线（事件等级色）',
    legendHeat: '近60分钟预警与异常密度',
    legendHeatRange: '少 → 多',
    views: { map: '城市态势图', forecasts: '风险预测' },
    viewNext: (s: number) => `${s} 秒后切换`,
    viewPinned: '已固定（点击取消）',
    viewPinnedShort: '已固定',
    viewPinHint: '点击固定此视图',
    forecastsTitle: '越限概率最高的指标 · 最新预测（95% 区间）',
    forecastsEmpty: '近7天没有预测',
    forecastsError: (m: string) => `预测读取失败：${m}`,
    peakBreach: (p: number) => `最高越限概率 ${p}%`,
    staleTitle: '实时数据中断',
    staleSince: (s: number | null) => (s === null ? '尚未收到实时数据' : `已 ${s} 秒未收到实时数据`),
    staleReconnecting: '正在自动重连…',
    staleWaiting: '连接正常，等待数据源…',
    footer: '预警与派遣由系统自动生成（机器研判），须由值班人员确认处置',
    loading: '正在加载城市数据…',
    unknownArea: '未知区域',
    citywide: '全市',
    age: (minutes: number) => (minutes < 60 ? `${minutes} 分钟` : `${Math.floor(minutes / 60)} 小时 ${minutes % 60} 分`),
    status: { open: '待派遣', dispatched: '已派遣', accepted: '处置中', resolved: '已办结', closed: '已关闭' } satisfies Record<
      IncidentStatus,
      string
    >,
    replay: {
      enter: '历史回放',
      live: '返回实时',
      load: '载入',
      loading: '正在载入…',
      play: '播放',
      pause: '暂停',
      from: '起始时间',
      span: '时长',
      speed: '速度',
      frame: '时刻',
      spanMinutes: (m: number) => (m < 60 ? `${m} 分钟` : `${m / 60} 小时`),
      banner: '历史回放 · 非实时数据',
    },
  },
  en: {
    title: 'City Operations Early Warning',
    subtitle: 'One-network city management · live',
    toggleTo: '中文',
    toggleLabel: '切换到中文',
    connection: { connecting: 'Connecting', live: 'Live', reconnecting: 'Reconnecting' },
    kpiOpenIncidents: 'Open incidents',
    kpiWarningsHour: 'Warnings, last hour',
    kpiSensors: 'Sensors reporting',
    kpiFreshness: 'Data freshness',
    kpiSla: 'SLA compliance (current incidents)',
    kpiResponseTimes: (dispatchMin: string, resolveMin: string) => `mean dispatch ${dispatchMin} · resolve ${resolveMin}`,
    minutes: (n: number) => `${n} min`,
    kpiNone: '—',
    seconds: (n: number) => `${n} s`,
    mapTitle: 'City situation map',
    warningsTitle: 'Early warnings',
    warningsCount: (n: number) => `${n} in the last hour`,
    warningsEmpty: 'No warnings',
    incidentsTitle: 'Incidents',
    incidentsCount: (n: number) => `${n} being handled`,
    incidentsEmpty: 'No open incidents',
    colLevel: 'Level',
    colKind: 'Kind',
    colArea: 'Area',
    colStatus: 'Status',
    colDepartment: 'Department',
    colAge: 'Age',
    undispatched: 'Not dispatched',
    overdueAccept: 'Accept late',
    overdueResolve: 'Resolve late',
    machineMade: 'Machine-made',
    levelChip: (roman: string) => `Lvl ${roman}`,
    legendLevels: 'Warning level',
    legendSensors: 'Sensors',
    sensorNormal: 'Normal',
    sensorAnomalous: 'Anomalous (last 5 min)',
    sensorSilent: 'Silent (no data 60 s)',
    legendIncident: 'Open incident',
    legendCamera: 'Camera',
    legendCameraDetections: 'Latest detections (objects)',
    legendStation: 'Department station (units out/total)',
    legendDispatchLine: 'Dispatch line (incident level colour)',
    legendHeat: 'Warnings and anomalies, last 60 min',
    legendHeatRange: 'few → many',
    views: { map: 'City situation map', forecasts: 'Risk forecasts' },
    viewNext: (s: number) => `next view in ${s} s`,
    viewPinned: 'Pinned (click to release)',
    viewPinnedShort: 'pinned',
    viewPinHint: 'Click to pin this view',
    forecastsTitle: 'Indicators most likely to breach · newest forecast (95% interval)',
    forecastsEmpty: 'No forecast in the last 7 days',
    forecastsError: (m: string) => `Could not read the forecasts: ${m}`,
    peakBreach: (p: number) => `peak breach probability ${p}%`,
    staleTitle: 'STALE — live data stopped',
    staleSince: (s: number | null) => (s === null ? 'No live data received yet' : `No live data for ${s} s`),
    staleReconnecting: 'Reconnecting automatically…',
    staleWaiting: 'Connected, waiting for the data sources…',
    footer: 'Warnings and dispatches are machine-made and must be confirmed by the duty officer',
    loading: 'Loading the city…',
    unknownArea: 'Unknown area',
    citywide: 'Citywide',
    age: (minutes: number) => (minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`),
    status: { open: 'Open', dispatched: 'Dispatched', accepted: 'In progress', resolved: 'Resolved', closed: 'Closed' } satisfies Record<
      IncidentStatus,
      string
    >,
    replay: {
      enter: 'Replay',
      live: 'Back to live',
      load: 'Load',
      loading: 'Loading…',
      play: 'Play',
      pause: 'Pause',
      from: 'From',
      span: 'Span',
      speed: 'Speed',
      frame: 'Time',
      spanMinutes: (m: number) => (m < 60 ? `${m} min` : `${m / 60} h`),
      banner: 'Replay · not live data',
    },
  },
} as const;

export type UiText = (typeof UI_TEXT)[Lang];

export interface LangContextValue {
  lang: Lang;
  text: UiText;
  setLang(lang: Lang): void;
}

export const LangContext = createContext<LangContextValue>({ lang: 'zh', text: UI_TEXT.zh, setLang: () => undefined });

export function useLang(): LangContextValue {
  return useContext(LangContext);
}

export function kindLabel(kind: EventKind, lang: Lang): string {
  return EVENT_KIND_LABELS[kind][lang];
}

export function levelLabel(level: WarningLevel, lang: Lang): string {
  return WARNING_LEVEL_INFO[level][lang];
}

/** Names in the current language; dimension records carry both. */
export function localName(record: { name_zh: string; name_en: string }, lang: Lang): string {
  return lang === 'zh' ? record.name_zh : record.name_en;
}

export function isLang(value: unknown): value is Lang {
  return value === 'zh' || value === 'en';
}
