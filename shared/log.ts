import { redact } from './redact.ts';

/**
 * Structured JSON logs in the shape of Powertools for AWS Lambda's Logger (level, message,
 * timestamp, service, then keys), one line per entry, every line redacted. Persistent keys
 * (cluster/namespace/kind/name, revision) are added with `child()` so each line carries the
 * object's identity.
 */
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
const ORDER: Record<LogLevel, number> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 };

/** The minimal logger a helper takes, so it can be handed any implementation. */
export interface Log {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
  child(keys: Record<string, unknown>): Log;
}

export interface LoggerOptions {
  service?: string;
  level?: LogLevel;
  keys?: Record<string, unknown>;
  /** Where lines go; default stdout (Lambda sends it to CloudWatch Logs). */
  write?: (line: string) => void;
}

export class Logger implements Log {
  private readonly service: string;
  private readonly level: LogLevel;
  private readonly keys: Record<string, unknown>;
  private readonly write: (line: string) => void;

  constructor(options: LoggerOptions = {}) {
    this.service = options.service ?? process.env.POWERTOOLS_SERVICE_NAME ?? 'tide';
    const envLevel = (process.env.TIDE_LOG_LEVEL ?? process.env.POWERTOOLS_LOG_LEVEL)?.toUpperCase() as LogLevel | undefined;
    this.level = options.level ?? (envLevel && envLevel in ORDER ? envLevel : 'INFO');
    this.keys = options.keys ?? {};
    this.write = options.write ?? ((line) => process.stdout.write(line + '\n'));
  }

  child(keys: Record<string, unknown>): Logger {
    return new Logger({ service: this.service, level: this.level, keys: { ...this.keys, ...keys }, write: this.write });
  }

  debug(message: string, extra?: Record<string, unknown>): void {
    this.log('DEBUG', message, extra);
  }
  info(message: string, extra?: Record<string, unknown>): void {
    this.log('INFO', message, extra);
  }
  warn(message: string, extra?: Record<string, unknown>): void {
    this.log('WARN', message, extra);
  }
  error(message: string, extra?: Record<string, unknown>): void {
    this.log('ERROR', message, extra);
  }

  private log(level: LogLevel, message: string, extra?: Record<string, unknown>): void {
    if (ORDER[level] < ORDER[this.level]) return;
    const entry = redact({ level, message, timestamp: new Date().toISOString(), service: this.service, ...this.keys, ...extra });
    this.write(JSON.stringify(entry));
  }
}
