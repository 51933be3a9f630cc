// An object URL for a Blob while a component shows it, revoked when the Blob changes or the component goes: the
// gallery shows stored PNGs without copying their bytes into the page, and without leaking a URL per picture.
import { useEffect, useState } from 'react';

export function useObjectUrl(blob: Blob | undefined): string | undefined {
  const [url, setUrl] = useState<string>();
  useEffect(() => {
    if (!blob) return setUrl(undefined);
    const u = URL.createObjectURL(blob);
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [blob]);
  return url;
}
