// The subset of Python's pickle machine that torch.save uses for a dict of tensors (protocol 2, and the protocol-4
// framing opcodes in case a checkpoint was saved with a newer protocol): dicts / OrderedDicts, tuples, lists, ints,
// floats, strings, bools, None, GLOBAL + REDUCE for a short allow-list of callables, BUILD (ignored: torch attaches
// `_metadata` to state dicts) and persistent ids (torch's storages). It never runs code: an unknown callable or
// opcode is an error naming it.
import { ConvertError } from './errors';

/** A Python dict (or OrderedDict); keys in insertion order. */
export class PyDict {
  readonly map = new Map<unknown, unknown>();
}
/** A `module.name` reference as GLOBAL / STACK_GLOBAL push it. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

export interface UnpickleHooks {
  /** BINPERSID: turns a persistent id (a tuple) into a value. */
  persistentLoad(pid: unknown): unknown;
  /** REDUCE on a global: returns the value or throws for callables it does not know. */
  call(fn: PyGlobal, args: unknown[]): unknown;
}

const MARK = Symbol('mark');

export function unpickle(buf: Buffer, hooks: UnpickleHooks, label: string): unknown {
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let p = 0;
  const need = (n: number) => {
    if (p + n > buf.length) throw new ConvertError(`${label}: pickle data ends early (truncated file?)`);
  };
  const u8 = () => (need(1), buf[p++]);
  const u16 = () => (need(2), (p += 2), buf.readUInt16LE(p - 2));
  const u32 = () => (need(4), (p += 4), buf.readUInt32LE(p - 4));
  const str = (n: number) => (need(n), (p += n), buf.toString('utf8', p - n, p));
  const line = () => {
    const e = buf.indexOf(0x0a, p);
    if (e < 0) throw new ConvertError(`${label}: pickle data ends early (truncated file?)`);
    const s = buf.toString('latin1', p, e);
    p = e + 1;
    return s;
  };
  const pop = () => {
    if (!stack.length) throw new ConvertError(`${label}: malformed pickle (stack underflow)`);
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw new ConvertError(`${label}: malformed pickle (no MARK)`);
    const items = stack.slice(i + 1);
    stack.length = i;
    return items;
  };
  const top = () => stack[stack.length - 1];
  const setItems = (d: unknown, kv: unknown[]) => {
    if (!(d instanceof PyDict)) throw new ConvertError(`${label}: malformed pickle (SETITEM on a non-dict)`);
    for (let i = 0; i + 1 < kv.length; i += 2) d.map.set(kv[i], kv[i + 1]);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: need(8); p += 8; break; // FRAME
      case 0x2e: return pop(); // STOP
      case 0x7d: stack.push(new PyDict()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x28: stack.push(MARK); break; // MARK
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); stack.push([pop(), b]); break; } // TUPLE2
      case 0x87: { const c = pop(), b = pop(); stack.push([pop(), b, c]); break; } // TUPLE3
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET / LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) throw new ConvertError(`${label}: malformed pickle (memo ${k} unset)`);
        stack.push(memo.get(k));
        break;
      }
      case 0x58: stack.push(str(u32())); break; // BINUNICODE
      case 0x8c: stack.push(str(u8())); break; // SHORT_BINUNICODE
      case 0x8d: { need(8); const n = Number(buf.readBigUInt64LE(p)); p += 8; stack.push(str(n)); break; } // BINUNICODE8
      case 0x55: stack.push(str(u8())); break; // SHORT_BINSTRING
      case 0x54: stack.push(str(u32())); break; // BINSTRING
      case 0x43: { const n = u8(); need(n); stack.push(buf.subarray(p, p + n)); p += n; break; } // SHORT_BINBYTES
      case 0x42: { const n = u32(); need(n); stack.push(buf.subarray(p, p + n)); p += n; break; } // BINBYTES
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: need(4); stack.push(buf.readInt32LE(p)); p += 4; break; // BININT
      case 0x8a: { // LONG1: little-endian two's complement
        const n = u8();
        need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[p + i]);
        if (n && buf[p + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        stack.push(Number(v));
        break;
      }
      case 0x47: need(8); stack.push(buf.readDoubleBE(p)); p += 8; break; // BINFLOAT
      case 0x88: stack.push(true); break;
      case 0x89: stack.push(false); break;
      case 0x4e: stack.push(null); break;
      case 0x63: { const module = line(); stack.push(new PyGlobal(module, line())); break; } // GLOBAL
      case 0x93: { const name = pop() as string; stack.push(new PyGlobal(pop() as string, name)); break; } // STACK_GLOBAL
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PyGlobal) || !Array.isArray(args)) throw new ConvertError(`${label}: malformed pickle (REDUCE on a non-callable)`);
        stack.push(hooks.call(fn, args));
        break;
      }
      case 0x51: stack.push(hooks.persistentLoad(pop())); break; // BINPERSID
      case 0x73: { const v = pop(), k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 0x61: { const v = pop(); (top() as unknown[]).push(v); break; } // APPEND
      case 0x65: { const vs = popMark(); (top() as unknown[]).push(...vs); break; } // APPENDS
      case 0x62: pop(); break; // BUILD: state dicts carry `_metadata` (module versions); not needed
      default:
        throw new ConvertError(`${label}: unsupported pickle opcode 0x${op.toString(16)} at byte ${p - 1} (not a torch.save state dict?)`);
    }
  }
}
