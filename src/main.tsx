// Entry: starts the app's state once (state/boot.ts), registers the offline shell, mounts the React app.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { boot } from './state/boot';
import { App } from './ui/App';
import { registerShellWorker } from './ui/lib/register-sw';

boot();
registerShellWorker();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
