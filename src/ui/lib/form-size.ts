// The generate form's size: the one a person chose (or "use these settings" brought back) when the loaded model
// makes it, else the model's own size — and then which kept size gave way, so the form can say so instead of
// sending a size the engine would refuse.
import { sizeProblem, type SizeRule } from '../../shared/image-size';

type Size = { width: number; height: number };

export function formSize(kept: Size | undefined, rule: SizeRule, model: Size): Size & { misfit?: Size } {
  if (!kept) return { ...model };
  if (sizeProblem(kept.width, kept.height, rule)) return { ...model, misfit: kept };
  return { width: kept.width, height: kept.height };
}
