import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from './config.js';

describe('readConfig', () => {
  it('defaults to every role on the embedded default with a generated ingest key', () => {
    const c = readConfig([], {});
    expect(c).toMatchObject({ role: 'all', port: 3000, kafkaBrokers: [], clickhouseUrl: '', simulator: true, apiKeyGenerated: true });
    expect(c.apiKey).toMatch(/^co_[\w-]{24}$/);
    expect(c.dataDir.endsWith('/data')).toBe(true);
  });

  it('reads Kafka, ClickHouse and the API key from the environment', () => {
    const c = readConfig(['sink'], {
      KAFKA_BROKERS: 'k1:9092, k2:9092',
      CLICKHOUSE_URL: 'http://ch:8123',
      CITYOPS_API_KEY: 'secret',
      PORT: '8080',
    });
    expect(c).toMatchObject({
      role: 'sink',
      port: 8080,
      kafkaBrokers: ['k1:9092', 'k2:9092'],
      clickhouseUrl: 'http://ch:8123',
      apiKey: 'secret',
      apiKeyGenerated: false,
      simulator: false,
    });
  });

  it('reads signed webhooks, the forecast model and the vision config file', () => {
    const c = readConfig([], {
      CITYOPS_WEBHOOKS: JSON.stringify([{ url: 'https://hotline.example/hook', secret: 'a-long-shared-secret', types: ['dispatched'] }]),
      CITYOPS_FORECAST_MODEL: 'seasonal-naive',
      CITYOPS_VISION_CONFIG: '/etc/cityops/vision.json',
      CITYOPS_FORECAST_PROVIDERS: 'cuda, cpu',
    });
    expect(c.webhooks).toEqual([{ url: 'https://hotline.example/hook', secret: 'a-long-shared-secret', types: ['dispatched'] }]);
    expect(c).toMatchObject({
      forecastModel: 'seasonal-naive',
      forecastProviders: ['cuda', 'cpu'],
      visionConfigFile: '/etc/cityops/vision.json',
    });
    expect(readConfig([], {})).toMatchObject({ forecastModel: 'builtin', forecastProviders: ['cpu'], visionConfigFile: '', webhooks: [] });
  });

  it('refuses webhooks that are not JSON, lack a secret, or have a short one', () => {
    expect(() => readConfig([], { CITYOPS_WEBHOOKS: '[{' })).toThrow(/CITYOPS_WEBHOOKS to be a JSON array .* not JSON/);
    expect(() => readConfig([], { CITYOPS_WEBHOOKS: '[{"url":"https://x.example"}]' })).toThrow(
      /CITYOPS_WEBHOOKS\[0\]: expected \{url: string, secret: string\}/,
    );
    expect(() => readConfig([], { CITYOPS_WEBHOOKS: '[{"url":"https://x.example","secret":"short"}]' })).toThrow(
      /CITYOPS_WEBHOOKS\[0\].secret: expected at least 16 characters; got 5/,
    );
    expect(() => readConfig([], { CITYOPS_WEBHOOKS: '[{"url":"ftp://x","secret":"a-long-shared-secret"}]' })).toThrow(
      /expected an http\(s\) URL/,
    );
  });

  it('names what it expected and what came for a bad role, port or speed-up', () => {
    expect(() => readConfig(['ingset'], {})).toThrow(
      new ConfigError(
        "expected a role, one of all, ingest, vision, anomaly, forecast, incidents, sink, dashboard, migrate, doctor, replay; got 'ingset'",
      ),
    );
    expect(() => readConfig([], { PORT: 'http' })).toThrow(/expected PORT to be a TCP port 0…65535; got 'http'/);
    expect(() => readConfig([], { CITYOPS_SIM_SPEEDUP: '-2' })).toThrow(/expected CITYOPS_SIM_SPEEDUP to be a positive number; got '-2'/);
  });

  it('reads the anomaly detector by type or as a JSON config, and refuses a bad one at start', () => {
    expect(readConfig([], {}).anomalyDetector).toMatchObject({
      type: 'by-cadence',
      slowFromIntervalMs: 120_000,
      fast: { type: 'rolling-robust-z', windowSize: 120, slotMs: 5000 },
      slow: { type: 'ensemble' },
    });
    expect(readConfig([], { CITYOPS_ANOMALY_DETECTOR: 'ensemble' }).anomalyDetector).toMatchObject({ type: 'ensemble', threshold: 0.5 });
    expect(readConfig([], { CITYOPS_ANOMALY_DETECTOR: '{"type":"rolling-robust-z","windowSize":240}' }).anomalyDetector).toMatchObject({
      type: 'rolling-robust-z',
      windowSize: 240,
    });
    expect(() => readConfig([], { CITYOPS_ANOMALY_DETECTOR: 'isolation-forest' })).toThrow(/CITYOPS_ANOMALY_DETECTOR: .*isolation-forest/);
    expect(() => readConfig([], { CITYOPS_ANOMALY_DETECTOR: '{"windowSize":2}' })).toThrow(/CITYOPS_ANOMALY_DETECTOR: .*windowSize/);
    expect(() => readConfig([], { CITYOPS_ANOMALY_DETECTOR: '{"type":' })).toThrow(/JSON that does not parse/);
  });

  it('reads the security switches; the first administrator gets a one-time password unless one is configured', () => {
    expect(readConfig([], {})).toMatchObject({ secureCookies: false, trustProxy: false, adminPassword: '' });
    expect(
      readConfig([], { CITYOPS_SECURE_COOKIES: '1', CITYOPS_TRUST_PROXY: 'true', CITYOPS_ADMIN_PASSWORD: 'long enough secret' }),
    ).toMatchObject({ secureCookies: true, trustProxy: true, adminPassword: 'long enough secret' });
    expect(() => readConfig([], { CITYOPS_ADMIN_PASSWORD: 'admin' })).toThrow(
      'expected CITYOPS_ADMIN_PASSWORD to have at least 12 characters (or to be unset for a one-time password); got 5',
    );
  });

  it('reads an on-premises tile server for the wall, none by default, and refuses a malformed one at start', () => {
    expect(readConfig([], {}).tiles).toBeNull();
    expect(readConfig([], { CITYOPS_TILE_URL: 'http://tiles.ops.local/{z}/{x}/{y}.png', CITYOPS_TILE_MAX_ZOOM: '17' }).tiles).toEqual({
      url: 'http://tiles.ops.local/{z}/{x}/{y}.png',
      origin: 'http://tiles.ops.local',
      attribution: '',
      max_zoom: 17,
    });
    expect(() => readConfig([], { CITYOPS_TILE_URL: 'http://tiles.ops.local/{z}/{x}.png' })).toThrow(ConfigError);
    expect(() => readConfig([], { CITYOPS_TILE_URL: 'http://tiles.ops.local/{z}/{x}.png' })).toThrow(
      /^CITYOPS_TILE_URL: expected .*\{y\} is missing/,
    );
  });
});
