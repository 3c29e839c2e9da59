import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiProvider, createDefaultApi } from './api';
import { App } from './App';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');

const api = createDefaultApi();

createRoot(root).render(
  <StrictMode>
    <ApiProvider value={api}>
      <App />
    </ApiProvider>
  </StrictMode>,
);
