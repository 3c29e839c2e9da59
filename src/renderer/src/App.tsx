import { useEffect, useState } from 'react';

/** `window.kliq` exists only inside the desktop app (preload); a plain browser has none. */
function useAppVersion(): string | null {
  const [version, setVersion] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    window.kliq
      ?.getVersion()
      .then((v) => {
        if (live) setVersion(v);
      })
      .catch(() => {
        /* no version shown: nothing else depends on it */
      });
    return () => {
      live = false;
    };
  }, []);
  return version;
}

export function App() {
  const version = useAppVersion();
  return (
    <main className="app">
      <h1>KLIQ Audit</h1>
      <p>The review UI is coming. For now, run audits with the command line: <code>npm run audit -- &lt;folder&gt;</code>.</p>
      <p className="version">{version ? `Version ${version}` : 'Running outside the desktop app'}</p>
    </main>
  );
}
