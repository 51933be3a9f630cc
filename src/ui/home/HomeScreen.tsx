// Home (#home), the screen a child uses: who the picture is for (with the switcher), the prompt and Generate, the
// result with its explanation, and the profile's recent pictures.
import { Gallery } from '../gallery/Gallery';
import { GenerateForm } from './GenerateForm';
import { ImageView } from './ImageView';

export function HomeScreen() {
  return (
    <>
      <h2 className="screen-title visually-hidden" id="screen-title" tabIndex={-1}>
        Home
      </h2>
      <GenerateForm />
      <ImageView />
      <Gallery recent />
    </>
  );
}
