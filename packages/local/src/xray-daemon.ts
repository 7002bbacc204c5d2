import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

/** One X-Ray (sub)segment as the SDK sends it, flattened: children are separate spans. */
export interface Span {
  id: string;
  parentId: string | undefined;
  traceId: string;
  name: string;
  /** Epoch seconds with fractions, as X-Ray has them. */
  startTime: number;
  endTime: number | undefined;
  namespace: string | undefined;
  /** AWS SDK calls: the operation (PutObject, PutRecordBatch…). */
  operation: string | undefined;
  httpStatus: number | undefined;
  error: boolean;
  fault: boolean;
  cause: string | undefined;
  annotations: Record<string, unknown>;
}

interface Document {
  id?: string;
  parent_id?: string;
  trace_id?: string;
  name?: string;
  start_time?: number;
  end_time?: number;
  namespace?: string;
  aws?: { operation?: string };
  http?: { response?: { status?: number } };
  error?: boolean;
  fault?: boolean;
  cause?: { exceptions?: { message?: string; type?: string }[] };
  annotations?: Record<string, unknown>;
  subsegments?: Document[];
}

/**
 * A local stand-in for the X-Ray daemon: the SDK in each function sends its closed subsegments as
 * UDP datagrams (`{"format":"json","version":1}\n{segment}`) to AWS_XRAY_DAEMON_ADDRESS; this keeps
 * them by trace id so the console can show an invocation's spans. Written here because the daemon
 * is a Go binary that forwards to the X-Ray API and keeps nothing locally.
 */
export class XRayDaemon {
  readonly #socket: Socket;
  readonly #traces = new Map<string, Map<string, Span>>();
  readonly #maxTraces: number;

  private constructor(socket: Socket, maxTraces: number) {
    this.#socket = socket;
    this.#maxTraces = maxTraces;
    socket.on('message', (msg) => this.#receive(msg));
  }

  static async start(options: { maxTraces?: number } = {}): Promise<XRayDaemon> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    socket.unref();
    return new XRayDaemon(socket, options.maxTraces ?? 2_000);
  }

  /** For AWS_XRAY_DAEMON_ADDRESS. */
  get address(): string {
    const a = this.#socket.address() as AddressInfo;
    return `${a.address}:${a.port}`;
  }

  /** The spans of a trace ("1-…-…"), in start order. */
  spans(traceId: string): Span[] {
    return [...(this.#traces.get(traceId)?.values() ?? [])].sort((a, b) => a.startTime - b.startTime);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }

  #receive(msg: Buffer): void {
    const text = msg.toString('utf8');
    const newline = text.indexOf('\n');
    if (newline < 0) return;
    let doc: Document;
    try {
      doc = JSON.parse(text.slice(newline + 1)) as Document;
    } catch {
      return;
    }
    this.#add(doc, doc.trace_id, doc.parent_id);
  }

  #add(doc: Document, traceId: string | undefined, parentId: string | undefined): void {
    if (!traceId || !doc.id) return;
    let trace = this.#traces.get(traceId);
    if (!trace) {
      trace = new Map();
      this.#traces.set(traceId, trace);
      if (this.#traces.size > this.#maxTraces) this.#traces.delete(this.#traces.keys().next().value as string);
    }
    const exception = doc.cause?.exceptions?.[0];
    trace.set(doc.id, {
      id: doc.id,
      parentId,
      traceId,
      name: doc.name ?? '?',
      startTime: doc.start_time ?? 0,
      endTime: doc.end_time,
      namespace: doc.namespace,
      operation: doc.aws?.operation,
      httpStatus: doc.http?.response?.status,
      error: Boolean(doc.error),
      fault: Boolean(doc.fault),
      cause: exception ? `${exception.type ?? 'Error'}: ${exception.message ?? ''}` : undefined,
      annotations: doc.annotations ?? {},
    });
    for (const child of doc.subsegments ?? []) this.#add(child, traceId, doc.id);
  }
}

/** The trace id of a Lambda trace header ("Root=1-…;Parent=…;Sampled=1"). */
export function traceIdOf(header: string | undefined): string | undefined {
  return header ? /Root=([^;]+)/.exec(header)?.[1] : undefined;
}
