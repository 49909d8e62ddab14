{{#api}}
// GET /hello?name=NAME: the example route. Replace it with the service's
// own, in the same shape: a function from the request's input to a
// Reply, easy to test without a server.

import type { Reply } from "./server.js";

export const MAX_NAME_LENGTH = 100;

export function hello(name: string | null): Reply {
  const who = name === null || name.trim() === "" ? "world" : name.trim();
  if (who.length > MAX_NAME_LENGTH) {
    return { status: 400, body: { error: `name is longer than ${MAX_NAME_LENGTH} characters` } };
  }
  return { status: 200, body: { message: `Hello, ${who}!` } };
}
{{/api}}
