// The latest image (or the live preview while generating), drawn into a canvas, the profile it was made for,
// what the safety layers did (a blocked prompt's explanation instead of an image, the "adjusted" badge of a steered
// one, the notice of a blurred one), plus errors in plain words.
import { useEffect, useRef } from 'react';
import type { Explanation } from '../../safety/guard/explain';
import type { Q16Explanation } from '../../safety/image-explain';
import { TEXTS } from '../../safety/texts';
import type { GuardOutcome } from '../../state/guard-flow';
import { useApp } from '../../state/store';
import { describeError } from '../lib/messages';

function draw(canvas: HTMLCanvasElement | null, img: { width: number; height: number; rgba: Uint8ClampedArray } | undefined) {
  if (!canvas || !img) return;
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.getContext('2d')?.putImageData(new ImageData(new Uint8ClampedArray(img.rgba), img.width, img.height), 0, 0);
}

// A number per result object, so tests (and screen readers via the label change) can tell a new picture from the
// previous one even when both look the same.
const resultNumbers = new WeakMap<object, number>();
let lastNumber = 0;
const numberOf = (r: object | undefined) => {
  if (!r) return 0;
  if (!resultNumbers.has(r)) resultNumbers.set(r, ++lastNumber);
  return resultNumbers.get(r)!;
};

function ExplanationText({ e }: { e: Explanation | Q16Explanation }) {
  return (
    <p data-testid="result.explanation" data-stage={e.stage} data-category={e.category} data-action={e.action} data-style={e.style}>
      <strong>{e.title}.</strong> {e.words}
    </p>
  );
}

/** The safety layers' part of the result area (nothing when the request went through untouched). */
function GuardNotes({ outcome }: { outcome: GuardOutcome }) {
  const blocked = outcome.decision === 'blocked';
  const image = outcome.imageExplanation;
  return (
    <>
      {blocked && (
        <div role="status" className="guard blocked" data-testid="result.blocked">
          {outcome.explanations.map((e) => (
            <ExplanationText key={e.category} e={e} />
          ))}
        </div>
      )}
      {outcome.decision === 'steered' && (
        // A badge that opens the explanation: the picture came, only steered, so the words are one click away.
        <details className="guard steered" data-testid="result.adjusted">
          <summary>{TEXTS.badge.steered}</summary>
          {outcome.explanations.map((e) => (
            <ExplanationText key={e.category} e={e} />
          ))}
        </details>
      )}
      {image && (
        <div role="status" className="guard blurred" data-testid="result.blurred">
          {TEXTS.badge.blurred}
          <ExplanationText e={image} />
        </div>
      )}
    </>
  );
}

export function ImageView() {
  const { result, step, status, error, notice } = useApp();
  const madeFor = useApp((s) => s.resultProfile);
  const outcome = useApp((s) => s.guardOutcome);
  // A blocked prompt has no picture: the explanation takes the image's place. (`hidden` alone loses to the
  // stylesheet's display rule for .result, hence the inline style.)
  const blocked = outcome?.decision === 'blocked' && status !== 'generating';
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
      {outcome && <GuardNotes outcome={outcome} />}
      <canvas ref={ref} hidden={blocked} style={blocked ? { display: 'none' } : undefined} data-testid="result.image" data-has-image={result ? 'yes' : 'no'} data-result-n={numberOf(result)} className="result" />
      {result && madeFor && (
        <div data-testid="result.profile" data-profile-id={madeFor.id ?? ''} className="made-for">
          {madeFor.id ? `Made for ${madeFor.name}` : 'Made with no profile'}
          {madeFor.id && !madeFor.personalized && <span className="hint"> (this model has no personal safety: the profile could not steer it)</span>}
        </div>
      )}
      {result && (
        <div data-testid="result.meta">
          seed {result.seed} · {result.backend} · {Math.round(result.timings.totalMs)} ms
          {result.truncated.prompt ? ` · prompt cut to 77 tokens (${result.truncated.prompt} dropped)` : ''}
        </div>
      )}
    </section>
  );
}
