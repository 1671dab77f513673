/**
 * China's four early-warning levels (预警级别). The colour is the wire value; the Roman numeral
 * is what official notices print; rank orders them (higher is more serious).
 */
export const WARNING_LEVELS = ['blue', 'yellow', 'orange', 'red'] as const;
export type WarningLevel = (typeof WARNING_LEVELS)[number];

export interface WarningLevelInfo {
  level: WarningLevel;
  roman: 'IV' | 'III' | 'II' | 'I';
  rank: 1 | 2 | 3 | 4;
  zh: string;
  en: string;
  /** Display colour (sRGB hex) used on the wall; chosen to stay distinct on a dark background. */
  colorHex: string;
}

export const WARNING_LEVEL_INFO: Readonly<Record<WarningLevel, WarningLevelInfo>> = {
  blue: { level: 'blue', roman: 'IV', rank: 1, zh: '蓝色预警（Ⅳ级，一般）', en: 'Blue (IV, general)', colorHex: '#3b82f6' },
  yellow: { level: 'yellow', roman: 'III', rank: 2, zh: '黄色预警（Ⅲ级，较重）', en: 'Yellow (III, heavy)', colorHex: '#facc15' },
  orange: { level: 'orange', roman: 'II', rank: 3, zh: '橙色预警（Ⅱ级，严重）', en: 'Orange (II, serious)', colorHex: '#f97316' },
  red: { level: 'red', roman: 'I', rank: 4, zh: '红色预警（Ⅰ级，特别严重）', en: 'Red (I, especially serious)', colorHex: '#ef4444' },
};

export function levelRank(level: WarningLevel): number {
  return WARNING_LEVEL_INFO[level].rank;
}

/** The more serious of two levels. */
export function maxLevel(a: WarningLevel, b: WarningLevel): WarningLevel {
  return levelRank(a) >= levelRank(b) ? a : b;
}
