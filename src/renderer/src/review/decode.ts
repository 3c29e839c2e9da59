/**
 * A photo's pixels fetched, decoded and scaled (for Review's decode ahead, usePhotoCache): in the decode
 * worker (./decode-worker.ts), or on the page where the worker cannot run.
 */
export interface DecodeRequest {
  id: number;
  /** Absolute: a worker resolves relative URLs against its own script. */
  url: string;
  width: number;
  height: number;
  /** 'low' (bilinear) where it scales by half or less, 'medium' where bilinear would alias. */
  quality: ResizeQuality;
}
export interface DecodeReply {
  id: number;
  /** null when the host refused the file or it could not be decoded. */
  bitmap: ImageBitmap | null;
}

export async function decodeScaled({ url, width, height, quality }: Omit<DecodeRequest, 'id'>): Promise<ImageBitmap | null> {
  try {
    const res = await fetch(url);
    if (!res.ok) return null;
    return await createImageBitmap(await res.blob(), {
      resizeWidth: width,
      resizeHeight: height,
      resizeQuality: quality,
      imageOrientation: 'from-image',
    });
  } catch {
    return null;
  }
}
