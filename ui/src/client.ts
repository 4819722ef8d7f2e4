// The one client the screens use; the middleware picked its transport.
import { createClient } from './middleware';

export const client = createClient();
