import { registerDriver } from '../../faults/registry.ts';
import { dockerDriver } from './index.ts';

// Importing this module registers the Docker driver; the journal records this module so that a
// cleanup in a new process can load the driver again.
registerDriver(dockerDriver, { module: import.meta.url });
