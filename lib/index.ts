export { getBackend, setBackend, setNumThreads, getNumThreads } from './backend';
