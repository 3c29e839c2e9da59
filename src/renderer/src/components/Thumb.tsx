import { useState } from 'react';

/**
 * A photo's thumbnail (api.thumbUrl), loaded lazily and decoded off the main thread; when the engine
 * has none to give (404/409/410: no pixels), a short note instead of a broken image.
 */
export function Thumb({ src, alt }: { src: string; alt: string }) {
  const [failed, setFailed] = useState(false);
  if (failed) return <span className="thumb-missing">no preview</span>;
  return <img src={src} alt={alt} loading="lazy" decoding="async" draggable={false} onError={() => setFailed(true)} />;
}
