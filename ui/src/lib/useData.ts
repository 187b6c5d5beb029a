// useData loads what a page shows and reloads it on demand or every
// refresh milliseconds; a newer load cancels the one before.
import { useEffect, useRef, useState } from 'preact/hooks';

export interface Data<T> {
  data: T | null;
  error: string;
  loading: boolean;
  reload: () => void;
}

export function useData<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[] = [], refresh = 0): Data<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const ac = useRef<AbortController | null>(null);

  useEffect(() => {
    ac.current?.abort();
    const c = new AbortController();
    ac.current = c;
    setLoading(true);
    load(c.signal)
      .then((d) => {
        if (c.signal.aborted) return;
        setData(d);
        setError('');
      })
      .catch((e: Error) => {
        if (c.signal.aborted || e.name === 'AbortError') return;
        setError(e.message);
      })
      .finally(() => {
        if (!c.signal.aborted) setLoading(false);
      });
    return () => c.abort();
  }, [...deps, tick]);

  useEffect(() => {
    if (refresh <= 0) return;
    const id = setInterval(() => {
      if (document.visibilityState === 'visible') setTick((t) => t + 1);
    }, refresh);
    return () => clearInterval(id);
  }, [refresh]);

  return { data, error, loading, reload: () => setTick((t) => t + 1) };
}
