// Column-oriented tables the kernel sends as binary buffers (ckpt_widgets/widget/columns.py):
// numbers as little-endian typed arrays, text as one UTF-8 blob with the end of each value
// (in UTF-16 code units), a text column with few distinct values as the values and a code
// per row, anything else as JSON text. Pure functions (no DOM): unit tested in js/test/.

/**
 * @typedef {ArrayBuffer | ArrayBufferView} Bytes  a buffer as the widget manager gives it
 * @typedef {object} EncodedColumn
 * @property {string} name
 * @property {string} type   "text" | "categories" | "int32" | "float64" | "json" | "same"
 * @property {Bytes} [data]
 * @property {Bytes} [ends]
 * @property {Bytes} [codes]
 * @property {number} [width]     bytes per code of a "categories" column
 * @property {string[]} [values]  the distinct values of a "categories" column
 * @property {string} [as]        the earlier column a "same" column repeats
 * @typedef {{ n: number, columns: EncodedColumn[] }} EncodedTable
 */

const utf8 = new TextDecoder();

/**
 * The table `{name: values}` the kernel encoded (`{}` for none).
 * @param {EncodedTable | null | undefined} value
 * @returns {Record<string, any[]>}
 */
export function decodeColumns(value) {
  /** @type {Record<string, any[]>} */
  const out = {};
  if (!value?.columns) return out;
  for (const column of value.columns) out[column.name] = decodeColumn(column, value.n, out);
  return out;
}

/**
 * @param {EncodedColumn} column
 * @param {number} n
 * @param {Record<string, any[]>} earlier  the columns decoded so far
 * @returns {any[]}
 */
function decodeColumn(column, n, earlier) {
  switch (column.type) {
    case "same":
      return earlier[/** @type {string} */ (column.as)];
    case "text":
      return slices(utf8.decode(bytes(column.data)), numbers(Uint32Array, column.ends, n));
    case "categories": {
      const values = /** @type {string[]} */ (column.values);
      const type = column.width === 1 ? Uint8Array : column.width === 2 ? Uint16Array : Uint32Array;
      return Array.from(numbers(type, column.codes, n), (code) => values[code]);
    }
    case "int32":
      return Array.from(numbers(Int32Array, column.data, n));
    case "float64":
      return Array.from(numbers(Float64Array, column.data, n));
    case "json":
      return JSON.parse(utf8.decode(bytes(column.data)));
    default:
      throw new Error(`ckpt-widgets: column '${column.name}' has an unknown type '${column.type}'`);
  }
}

/**
 * `text` cut at `ends` (each value's end, in UTF-16 code units).
 * @param {string} text
 * @param {ArrayLike<number>} ends
 */
function slices(text, ends) {
  const out = new Array(ends.length);
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    out[i] = text.slice(start, ends[i]);
    start = ends[i];
  }
  return out;
}

/**
 * The bytes of a buffer as a Uint8Array view (no copy).
 * @param {Bytes | undefined} data
 */
function bytes(data) {
  if (!data) return new Uint8Array(0);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * `n` numbers of a typed array type read from a buffer; copied first when the buffer does
 * not start at a multiple of the element size (a slice of the websocket frame may not).
 * @template {Uint8ArrayConstructor | Uint16ArrayConstructor | Uint32ArrayConstructor | Int32ArrayConstructor | Float64ArrayConstructor} T
 * @param {T} type
 * @param {Bytes | undefined} data
 * @param {number} n
 * @returns {InstanceType<T>}
 */
function numbers(type, data, n) {
  const view = bytes(data);
  const aligned = view.byteOffset % type.BYTES_PER_ELEMENT === 0;
  const buffer = /** @type {ArrayBuffer} */ (view.buffer);
  const array = aligned ? new type(buffer, view.byteOffset, n) : new type(view.slice().buffer, 0, n);
  return /** @type {InstanceType<T>} */ (array);
}
