'use client';

import { useEffect, useState } from 'react';
import { fetchMe, type MeResponse } from './auth-client.js';

/** The session of a desk page; an anonymous browser (or one that must change its password) goes to /login and back. */
export function useMe(): { me: MeResponse | null; error: string | null } {
  const [me, setMe] = useState<MeResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    void fetchMe().then((r) => {
      if (r.kind === 'anonymous' || (r.kind === 'ok' && r.me.must_change_password)) {
        window.location.replace(`/login?next=${encodeURIComponent(window.location.pathname)}`);
      } else if (r.kind === 'error') {
        setError(r.message);
      } else {
        setMe(r.me);
      }
    });
  }, []);
  return { me, error };
}
