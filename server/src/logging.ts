import { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { prettyFactory } from 'pino-pretty';
import type { LogFormat } from './config.js';

/**
 * How the server logs (LOG_FORMAT, LOG_LEVEL):
 * - `json`: pino's JSON lines, as Fastify writes them: every request at info ("incoming request",
 *   "request completed").
 * - `pretty` (the default on a terminal): one short line per entry — time, level, message, and for a
 *   request's entries its method, URL and status — written by pino-pretty; requests are one
 *   "request completed" line each at debug, so `LOG_LEVEL=info` shows warnings, errors and the
 *   server's own news only. An error's stack is shown from `LOG_LEVEL=debug` on.
 * In both, a request the client gives up on (socket closed before the answer) is one line at the
 * request level (info in JSON, debug when pretty), never an error with a stack trace.
 */
export type ResolvedLogFormat = 'pretty' | 'json';

/** `auto` is pretty on a terminal and JSON otherwise (a pipe, a file, a service manager's journal). */
export function resolveLogFormat(format: LogFormat, isTTY = Boolean(process.stdout.isTTY)): ResolvedLogFormat {
  if (format === 'auto') return isTTY ? 'pretty' : 'json';
  return format;
}

/** True when the client closed the connection before the answer: nothing can reach it any more. */
export function clientClosed(request: FastifyRequest): boolean {
  const raw = request.raw;
  return raw.aborted || Boolean(raw.socket?.destroyed);
}

const DEBUG_LEVELS = new Set(['debug', 'trace']);

/**
 * Fastify's request log lines at one level (info for JSON, debug when pretty); a request whose
 * client went away is "request aborted by the client" at that level, not "request errored".
 */
export class RequestLogController extends LogController {
  readonly level: 'info' | 'debug';

  constructor(level: 'info' | 'debug') {
    super();
    this.level = level;
  }

  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    // At debug the request is one line, written when it ends.
    if (this.level === 'info') super.incomingRequest(request, reply);
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error && clientClosed(request)) return this.requestAborted(request);
    if (error || this.level === 'info') return super.requestCompleted(error, request, reply);
    reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }

  override streamError(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    if ((error as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE' || clientClosed(request)) {
      reply.log[this.level]({ res: reply }, 'stream closed prematurely');
      return;
    }
    super.streamError(error, request, reply);
  }

  /** The onRequestAbort hook (app.ts): the client closed the connection before the answer. */
  requestAborted(request: FastifyRequest): void {
    request.log[this.level]('request aborted by the client');
  }
}

interface LogEntry {
  [key: string]: unknown;
  req?: { method?: string; url?: string };
  res?: { statusCode?: number };
  err?: { type?: string; message?: string; code?: string; stack?: string };
}

/** The message of one pretty line: the message, the request (method URL status, time) and the error in short. */
function describeEntry(log: LogEntry, messageKey: string, showStacks: boolean): string {
  const message = String(log[messageKey] ?? '');
  const method = (log.method as string | undefined) ?? log.req?.method;
  const url = (log.url as string | undefined) ?? log.req?.url;
  const status = log.res?.statusCode ?? (log.statusCode as number | undefined);
  let text = message;
  const where = [method, url, status].filter((v) => v !== undefined && v !== '').join(' ');
  if (where) text += ` — ${where}`;
  if (typeof log.responseTime === 'number') text += ` (${Math.round(log.responseTime)} ms)`;
  const err = log.err;
  if (err) {
    const kind = [err.type === 'Error' ? undefined : err.type, err.code].filter(Boolean).join(' ');
    if (err.message && err.message !== message) text += `: ${kind ? `${kind} ` : ''}${err.message}`;
    else if (kind) text += ` (${kind})`;
    if (showStacks && err.stack) text += `\n${err.stack.split('\n').slice(1).join('\n')}`;
  }
  return text;
}

/**
 * Formats one pino line (JSON text or object) as a short human line:
 * `[15:04:05] WARN: database unavailable — GET /api/incidents 503: Error ECONNREFUSED connect ECONNREFUSED …`.
 */
export function prettyLogLine(opts: { level: string; colorize?: boolean }): (line: string | object) => string {
  const showStacks = DEBUG_LEVELS.has(opts.level);
  const pretty = prettyFactory({
    ...(opts.colorize === undefined ? {} : { colorize: opts.colorize }),
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname',
    hideObject: true,
    singleLine: true,
    messageFormat: (log, messageKey) => describeEntry(log as LogEntry, messageKey, showStacks),
  });
  return (line) => {
    let entry: unknown = line;
    if (typeof line === 'string') {
      try {
        entry = JSON.parse(line);
      } catch {
        return line.endsWith('\n') ? line : `${line}\n`;
      }
    }
    const log = entry as LogEntry;
    // app.log.error(err) puts the error's own fields at the top, where pino-pretty would print its
    // stack whatever the level: moved under `err`, as request.log.error({ err }) has them.
    if (log && typeof log.stack === 'string' && !log.err) {
      const { stack, type, code, ...rest } = log;
      entry = { ...rest, err: { type, code, stack, message: log.msg } };
    }
    // With hideObject the line comes without its end.
    const text = pretty(entry as object);
    return text.endsWith('\n') ? text : `${text}\n`;
  };
}

/** Fastify's logger, request-log and child-logger options for the format and level. */
export function fastifyLogging(opts: { level: string; format: ResolvedLogFormat; out?: NodeJS.WritableStream }): {
  options: Pick<FastifyServerOptions, 'logger' | 'logController' | 'childLoggerFactory'>;
  controller: RequestLogController;
} {
  const out = opts.out ?? process.stdout;
  if (opts.format === 'json') {
    const controller = new RequestLogController('info');
    // Through process.stdout (synchronous on files, pipes and terminals), in order with the console
    // lines of main.ts: pino's own destination writes later, after the ready line and the demo accounts.
    return { options: { logger: { level: opts.level, stream: { write: (line: string) => void out.write(line) } }, logController: controller }, controller };
  }
  const controller = new RequestLogController('debug');
  const format = prettyLogLine({ level: opts.level });
  return {
    controller,
    options: {
      logger: {
        level: opts.level,
        // Written synchronously, in order with the console lines of main.ts.
        stream: { write: (line: string) => void out.write(format(line)) },
        hooks: {
          // The ready line of main.ts names the address: Fastify's own "Server listening at" lines are debug here.
          logMethod(args, method, level) {
            if (level === 30 && typeof args[0] === 'string' && args[0].startsWith('Server listening at ')) return this.debug(args[0]);
            return method.apply(this, args);
          },
        },
      },
      logController: controller,
      // Every line of a request names it (a warning inside a handler included).
      childLoggerFactory: (logger, bindings, childOpts, raw) => logger.child({ ...bindings, method: raw.method, url: raw.url }, childOpts),
    },
  };
}
