import { discoveryDocument } from '../core/discovery.js';
import { publicDocument } from '../http/public-endpoint.js';

export const handler = publicDocument('oidc-discovery-well-known', discoveryDocument);
