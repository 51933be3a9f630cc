// The latest image (or the live preview while generating), drawn into a canvas, plus errors in plain words.
import { useEffect, useRef } from 'react';
import { useApp } from '../../state/store';
import { describeError } from '../messages';

function draw(canvas: HTMLCanvasElement | null, img: { width: number; height: number; rgba: Uint8ClampedArray } | undefined) {
  if (!canvas || !img) return;
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.getContext('2d')?.putImageData(new ImageData(new Uint8ClampedArray(img.rgba), img.width, img.height), 0, 0);
}

export function ImageView() {
  const { result, step, status, error, notice } = useApp();
  const ref = useRef<HTMLCanvasElement>(null);
  const preview = status === 'generating' ? step?.preview : undefined;
  useEffect(() => draw(ref.current, preview ?? result), [preview, result]);
  const err = error ? describeError(error) : undefined;
  return (
    <section className="panel" aria-label="Result">
      {err && (
        <div role="alert" data-testid="error" data-code={error?.code}>
          {err.title}
          <details>
            <summary>details</summary>
            {err.detail}
          </details>
        </div>
      )}
      {notice && <div data-testid="notice">{notice}</div>}
      <canvas ref={ref} data-testid="result.image" data-has-image={result ? 'yes' : 'no'} className="result" />
      {result && (
        <div data-testid="result.meta">
          seed {result.seed} · {result.backend} · {Math.round(result.timings.totalMs)} ms
          {result.truncated.prompt ? ` · prompt cut to 77 tokens (${result.truncated.prompt} dropped)` : ''}
        </div>
      )}
    </section>
  );
}
