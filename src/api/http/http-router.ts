import type { HttpRequest, HttpResponse } from '../grpc/grpc-server.js';

/** RouteHandler serves one HTTP request; it owns the response from then on. */
export type RouteHandler = (req: HttpRequest, res: HttpResponse) => void | Promise<void>;

/**
 * HttpRouter dispatches the non-gRPC requests of the client port by exact path, then method:
 * unknown paths get 404 `404 page not found` (Go's text, as etcd answers), a known path with
 * another method gets 405. Works with HTTP/1.1 and HTTP/2 requests alike. A handler that throws
 * or rejects before responding gets a 500.
 */
export class HttpRouter {
  private readonly routes = new Map<string, Map<string, RouteHandler>>();

  constructor(private readonly onError: (err: unknown, req: HttpRequest) => void = () => {}) {}

  /** route registers `handler` for `method` (e.g. 'POST') on the exact `path`. */
  route(method: string, path: string, handler: RouteHandler): this {
    let byMethod = this.routes.get(path);
    if (byMethod === undefined) this.routes.set(path, (byMethod = new Map()));
    if (byMethod.has(method)) throw new Error(`route ${method} ${path} registered twice`);
    byMethod.set(method, handler);
    return this;
  }

  /** handle is the HttpRequestHandler to give the ClientPortServer. */
  readonly handle = (req: HttpRequest, res: HttpResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const byMethod = this.routes.get(path);
    if (byMethod === undefined) {
      sendText(res, 404, '404 page not found\n');
      return;
    }
    const handler = byMethod.get(req.method ?? 'GET') ?? (req.method === 'HEAD' ? byMethod.get('GET') : undefined);
    if (handler === undefined) {
      res.setHeader('allow', [...byMethod.keys()].join(', '));
      sendText(res, 405, 'Method Not Allowed\n');
      return;
    }
    const fail = (err: unknown): void => {
      this.onError(err, req);
      if (!res.headersSent) sendText(res, 500, 'Internal Server Error\n');
      else res.destroy();
    };
    try {
      const result = handler(req, res);
      if (result !== undefined) result.catch(fail);
    } catch (err) {
      fail(err);
    }
  };
}

/** sendText ends `res` with a plain-text body. */
export function sendText(res: HttpResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(body);
}

/** sendJson ends `res` with a JSON body (already serialized). */
export function sendJson(res: HttpResponse, status: number, json: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(json);
}
