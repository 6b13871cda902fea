import document from '../../docs/openapi.json' with { type: 'json' };
import { publicDocument } from '../http/public-endpoint.js';

// The committed document, which a test keeps equal to the one the route table generates; served with this deployment's URL.
export const handler = publicDocument('openapi', ({ issuer }) => ({ ...document, servers: [{ url: issuer }] }));
