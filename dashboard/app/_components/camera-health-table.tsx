'use client';

import { useEffect, useState } from 'react';
import type { HealthReport } from '@cityops/schemas';
import { AUTH_TEXT } from '../_lib/auth-text.js';
import { cameraHealthRows, cameraState, type CameraHealthRow } from '../_lib/camera-health.js';
import type { Lang } from '../_lib/i18n.js';

/** How often the table re-reads /api/health. */
const POLL_MS = 5000;

/** Frames in and out, drops, decode lag and the newest frame of every camera the vision worker runs. */
export function CameraHealthTable({ lang }: { lang: Lang }) {
  const text = AUTH_TEXT[lang].cameraHealth;
  const [rows, setRows] = useState<CameraHealthRow[] | null>(null);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const res = await fetch('/api/health', { cache: 'no-store' });
        // A degraded or failing system answers 503 with the same report: that is when it matters most.
        const report = (await res.json()) as HealthReport;
        if (!stopped) {
          setRows(cameraHealthRows(report));
          setNow(Date.now());
        }
      } catch {
        // The next poll tries again; the table keeps the last answer.
      }
    };
    void load();
    const timer = window.setInterval(() => void load(), POLL_MS);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, []);

  return (
    <section className="admin-section" data-testid="camera-health">
      <h2>{text.title}</h2>
      {rows !== null && rows.length === 0 && <p className="admin-note">{text.none}</p>}
      {rows !== null && rows.length > 0 && (
        <table className="admin-table">
          <thead>
            <tr>
              <th>{text.colCamera}</th>
              <th>{text.colState}</th>
              <th>{text.colFramesIn}</th>
              <th>{text.colFramesOut}</th>
              <th>{text.colDropped}</th>
              <th>{text.colDecodeLag}</th>
              <th>{text.colLatency}</th>
              <th>{text.colLastFrame}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const state = cameraState(r, now);
              return (
                <tr key={r.camera_id} data-testid={`camera-health-${r.camera_id}`} className={`camera-${state}`}>
                  <td>{r.camera_id}</td>
                  <td>{text.states[state]}</td>
                  <td>{r.frames_in}</td>
                  <td>{r.frames_out}</td>
                  <td>{r.frames_dropped}</td>
                  <td>{Math.round(r.decode_lag_ms)}</td>
                  <td>{Math.round(r.latency_ms)}</td>
                  <td>{r.last_frame_ts === 0 ? '—' : text.secondsAgo(Math.max(0, Math.round((now - r.last_frame_ts) / 1000)))}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
